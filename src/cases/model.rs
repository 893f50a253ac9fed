//! Case rows and their queries.

use crate::db::schema::cases;
use crate::db::stored::{unreadable_row, Json};
use crate::db::{Conn, DbResult};
use crate::db_run;
use crate::projects::scope::ProjectScope;
use crate::users::model::{escape_like, lower};
use chrono::NaiveDateTime;
use diesel::{AsChangeset, Insertable, Queryable, Selectable};
use diesel::{
    BoolExpressionMethods, EscapeExpressionMethods, ExpressionMethods, OptionalExtension, QueryDsl,
    SelectableHelper, TextExpressionMethods,
};

use super::spec::{CaseKind, CaseSpec};

/// Rows per multi-row INSERT on PostgreSQL (13 parameters each, well under 65,535).
const POSTGRES_ROWS_PER_INSERT: usize = 1000;

/// A stored case; `spec` is the [`CaseSpec`] as JSON and `tags` a JSON array.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = cases)]
pub struct CaseRow {
    pub id: String,
    pub project_id: String,
    pub kind: CaseKind,
    pub name: String,
    pub description: String,
    pub tags: Json<Vec<String>>,
    pub priority: i32,
    pub active: bool,
    pub spec: Json<CaseSpec>,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A stored case without its spec: what a list that does not show specs reads.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = cases)]
pub struct CaseHeadRow {
    pub id: String,
    pub project_id: String,
    pub kind: CaseKind,
    pub name: String,
    pub description: String,
    pub tags: Json<Vec<String>>,
    pub priority: i32,
    pub active: bool,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl CaseRow {
    /// The case's columns apart from its spec, and the spec.
    pub fn split(self) -> (CaseHeadRow, CaseSpec) {
        let Self {
            id,
            project_id,
            kind,
            name,
            description,
            tags,
            priority,
            active,
            spec,
            created_by,
            updated_by,
            created_at,
            updated_at,
        } = self;
        let head = CaseHeadRow {
            id,
            project_id,
            kind,
            name,
            description,
            tags,
            priority,
            active,
            created_by,
            updated_by,
            created_at,
            updated_at,
        };
        (head, spec.0)
    }
}

/// Changes to a case; `None` leaves a column as it is.
#[derive(Debug, Default, Clone, AsChangeset)]
#[diesel(table_name = cases)]
pub struct CaseChanges {
    pub kind: Option<CaseKind>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Json<Vec<String>>>,
    pub priority: Option<i32>,
    pub active: Option<bool>,
    pub spec: Option<Json<CaseSpec>>,
    pub updated_by: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
}

/// Which cases of a project to list.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Only this kind.
    pub kind: Option<CaseKind>,
    /// Only cases carrying every one of these tags.
    pub tags: Vec<String>,
    /// Only active (or only inactive) cases.
    pub active: Option<bool>,
    /// Part of the name, description or spec (URLs live there), case-insensitive.
    pub search: Option<String>,
}

/// The column a case list is sorted by.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaseOrderField {
    /// Creation time.
    #[default]
    CreatedAt,
    /// Last change.
    UpdatedAt,
    /// Name.
    Name,
    /// Priority.
    Priority,
}

/// Sort direction.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortDirection {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

crate::project_owned!(CaseRow, "case");

/// One project's `cases` narrowed by a [`CaseFilter`], boxed for the backend in use.
macro_rules! filtered_cases {
    ($scope:expr, $filter:expr) => {{
        let filter: &CaseFilter = $filter;
        let mut query = cases::table
            .filter(cases::project_id.eq($scope.project_id().to_owned()))
            .into_boxed();
        if let Some(kind) = filter.kind {
            query = query.filter(cases::kind.eq(kind));
        }
        for tag in &filter.tags {
            let pattern = format!("%{}%", escape_like(&serde_json::json!(tag).to_string()));
            query = query.filter(cases::tags.like(pattern).escape('\\'));
        }
        if let Some(active) = filter.active {
            query = query.filter(cases::active.eq(active));
        }
        if let Some(search) = filter.search.as_deref().filter(|s| !s.is_empty()) {
            let pattern = format!("%{}%", escape_like(&search.to_lowercase()));
            query = query.filter(
                lower(cases::name)
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(cases::description).like(pattern.clone()).escape('\\'))
                    .or(lower(cases::spec).like(pattern).escape('\\')),
            );
        }
        query
    }};
}

/// [`filtered_cases!`] sorted by `order` (ties broken by id), from `offset`, at most `limit`.
macro_rules! ordered_page {
    ($scope:expr, $filter:expr, $order:expr, $offset:expr, $limit:expr) => {{
        let (field, direction): (CaseOrderField, SortDirection) = $order;
        let mut query = filtered_cases!($scope, $filter).offset($offset);
        if let Some(limit) = $limit {
            query = query.limit(limit);
        }
        match (field, direction == SortDirection::Desc) {
            (CaseOrderField::CreatedAt, false) => {
                query.order((cases::created_at.asc(), cases::id.asc()))
            }
            (CaseOrderField::CreatedAt, true) => {
                query.order((cases::created_at.desc(), cases::id.desc()))
            }
            (CaseOrderField::UpdatedAt, false) => {
                query.order((cases::updated_at.asc(), cases::id.asc()))
            }
            (CaseOrderField::UpdatedAt, true) => {
                query.order((cases::updated_at.desc(), cases::id.desc()))
            }
            (CaseOrderField::Name, false) => query.order((cases::name.asc(), cases::id.asc())),
            (CaseOrderField::Name, true) => query.order((cases::name.desc(), cases::id.desc())),
            (CaseOrderField::Priority, false) => {
                query.order((cases::priority.asc(), cases::id.asc()))
            }
            (CaseOrderField::Priority, true) => {
                query.order((cases::priority.desc(), cases::id.desc()))
            }
        }
    }};
}

/// Database methods.
impl CaseRow {
    /// Stores cases; run it in a transaction, so they are stored all or none.
    pub async fn insert_all(conn: &mut Conn, rows: &[Self]) -> DbResult<()> {
        // PostgreSQL takes many rows per statement; diesel cannot build that for
        // SQLite, where one statement per row inside the transaction is cheap anyway.
        db_run!(conn,
            sqlite: |conn| {
                for row in rows {
                    diesel::insert_into(cases::table)
                        .values(row)
                        .execute(conn)
                        .await?;
                }
                Ok(())
            },
            postgres: |conn| {
                for chunk in rows.chunks(POSTGRES_ROWS_PER_INSERT) {
                    diesel::insert_into(cases::table)
                        .values(chunk)
                        .execute(conn)
                        .await?;
                }
                Ok(())
            },
        )
    }

    /// The case `id`.
    pub async fn find(conn: &mut Conn, id: &str) -> DbResult<Option<Self>> {
        db_run!(conn, |conn| {
            cases::table
                .find(id)
                .select(Self::as_select())
                .first(conn)
                .await
                .optional()
                .map_err(|error| unreadable_row(error, "cases", id))
        })
    }

    /// The cases with these ids, in no particular order.
    pub async fn find_by_ids(conn: &mut Conn, ids: &[String]) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            Ok(cases::table
                .filter(cases::id.eq_any(ids))
                .select(Self::as_select())
                .load(conn)
                .await?)
        })
    }

    /// Applies `changes` to a case of the project in scope; returns the updated row, if any.
    pub async fn update(
        conn: &mut Conn,
        scope: &ProjectScope,
        id: &str,
        changes: &CaseChanges,
    ) -> DbResult<Option<Self>> {
        db_run!(conn, |conn| {
            Ok(diesel::update(
                cases::table
                    .find(id)
                    .filter(cases::project_id.eq(scope.project_id())),
            )
            .set(changes)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
            .optional()?)
        })
    }

    /// Sets the active flag of `ids` (of any projects the caller checked); returns
    /// how many rows changed.
    pub async fn set_active(
        conn: &mut Conn,
        ids: &[String],
        active: bool,
        by: &str,
        at: NaiveDateTime,
    ) -> DbResult<usize> {
        db_run!(conn, |conn| {
            Ok(diesel::update(cases::table.filter(cases::id.eq_any(ids)))
                .set((
                    cases::active.eq(active),
                    cases::updated_by.eq(by),
                    cases::updated_at.eq(at),
                ))
                .execute(conn)
                .await?)
        })
    }

    /// Deletes a case of the project in scope; returns whether it existed.
    pub async fn delete(conn: &mut Conn, scope: &ProjectScope, id: &str) -> DbResult<bool> {
        db_run!(conn, |conn| {
            Ok(diesel::delete(
                cases::table
                    .find(id)
                    .filter(cases::project_id.eq(scope.project_id())),
            )
            .execute(conn)
            .await?
                > 0)
        })
    }

    /// One page of a project's cases, sorted, from `offset`; `limit: None` returns all.
    pub async fn page(
        conn: &mut Conn,
        scope: &ProjectScope,
        filter: &CaseFilter,
        order: (CaseOrderField, SortDirection),
        offset: i64,
        limit: Option<i64>,
    ) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            let query = ordered_page!(scope, filter, order, offset, limit);
            Ok(query.select(Self::as_select()).load(conn).await?)
        })
    }

    /// [`CaseRow::page`] without the specs.
    pub async fn page_heads(
        conn: &mut Conn,
        scope: &ProjectScope,
        filter: &CaseFilter,
        order: (CaseOrderField, SortDirection),
        offset: i64,
        limit: Option<i64>,
    ) -> DbResult<Vec<CaseHeadRow>> {
        db_run!(conn, |conn| {
            let query = ordered_page!(scope, filter, order, offset, limit);
            Ok(query.select(CaseHeadRow::as_select()).load(conn).await?)
        })
    }

    /// How many of a project's cases match.
    pub async fn count(
        conn: &mut Conn,
        scope: &ProjectScope,
        filter: &CaseFilter,
    ) -> DbResult<i64> {
        db_run!(conn, |conn| {
            Ok(filtered_cases!(scope, filter)
                .count()
                .get_result(conn)
                .await?)
        })
    }
}
