//! Project and membership rows and their queries.

use async_graphql::{Enum, InputObject, SimpleObject};
use chrono::NaiveDateTime;
use diesel::{AsChangeset, Insertable, Queryable, Selectable};
use diesel::{
    BoolExpressionMethods, EscapeExpressionMethods, ExpressionMethods, OptionalExtension, QueryDsl,
    SelectableHelper, TextExpressionMethods,
};
use serde::{Deserialize, Serialize};

use crate::cases::spec::KeyValue;
use crate::db::schema::{project_members, projects};
use crate::db::stored::{unreadable_row, Json};
use crate::db::{Conn, DbResult};
use crate::users::model::{escape_like, lower};
use crate::{db_run, stored_enum};

use super::scope::ProjectScope;

/// A stored project.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = projects)]
pub struct ProjectRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub archived: bool,
    pub settings: Json<ProjectSettings>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A project membership.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = project_members)]
pub struct MemberRow {
    pub project_id: String,
    pub user_id: String,
    pub role: ProjectRole,
    pub added_at: NaiveDateTime,
}

/// Changes to a project; `None` leaves a column as it is.
#[derive(Debug, Default, Clone, AsChangeset)]
#[diesel(table_name = projects)]
pub struct ProjectChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub archived: Option<bool>,
    pub settings: Option<Json<ProjectSettings>>,
    pub updated_at: Option<NaiveDateTime>,
}

/// A member's role in a project, from most to least powerful.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProjectRole {
    /// Manages members, archives and deletes the project.
    Owner,
    /// Edits environments, settings, and script and UI cases.
    Maintainer,
    /// Edits HTTP and load-test cases, starts runs.
    Member,
    /// Reads everything in the project.
    Viewer,
}

stored_enum!(ProjectRole {
    Owner = "OWNER",
    Maintainer = "MAINTAINER",
    Member = "MEMBER",
    Viewer = "VIEWER",
});

impl ProjectRole {
    fn rank(self) -> u8 {
        match self {
            Self::Owner => 3,
            Self::Maintainer => 2,
            Self::Member => 1,
            Self::Viewer => 0,
        }
    }

    /// True when this role may do what `needed` may.
    pub fn includes(self, needed: ProjectRole) -> bool {
        self.rank() >= needed.rank()
    }
}

/// How a project runs its cases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, SimpleObject)]
#[serde(rename_all = "camelCase")]
pub struct ProjectSettings {
    /// How many cases a run executes at once (1–256).
    pub max_workers: i32,
    /// Headers sent with every HTTP case of the project.
    #[serde(default)]
    pub default_headers: Vec<KeyValue>,
}

impl Default for ProjectSettings {
    fn default() -> Self {
        Self {
            max_workers: DEFAULT_MAX_WORKERS,
            default_headers: Vec::new(),
        }
    }
}

/// Cases a run executes at once unless the project says otherwise.
pub const DEFAULT_MAX_WORKERS: i32 = 4;

/// Changes to project settings; omitted fields stay as they are.
#[derive(Debug, Clone, Default, InputObject)]
pub struct ProjectSettingsInput {
    /// How many cases a run executes at once (1–256).
    pub max_workers: Option<i32>,
    /// Headers sent with every HTTP case (replaces the list).
    pub default_headers: Option<Vec<KeyValue>>,
}

/// Filters for listing projects.
#[derive(Debug, Default, Clone)]
pub struct ProjectFilter {
    /// Part of the name, case-insensitive.
    pub search: Option<String>,
    /// Only archived (or only live) projects.
    pub archived: Option<bool>,
    /// Only projects this user belongs to (`None`: all, for admins).
    pub member_id: Option<String>,
}

/// Local methods.
impl ProjectRow {
    /// The settings.
    pub fn settings(&self) -> ProjectSettings {
        self.settings.0.clone()
    }
}

/// The `projects` table narrowed by a [`ProjectFilter`], boxed for the backend in use.
macro_rules! filtered_projects {
    ($filter:expr) => {{
        let filter: &ProjectFilter = $filter;
        let mut query = projects::table.into_boxed();
        if let Some(search) = filter.search.as_deref().filter(|s| !s.is_empty()) {
            let pattern = format!("%{}%", escape_like(&search.to_lowercase()));
            query = query.filter(
                lower(projects::name)
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(projects::description).like(pattern).escape('\\')),
            );
        }
        if let Some(archived) = filter.archived {
            query = query.filter(projects::archived.eq(archived));
        }
        if let Some(member_id) = filter.member_id.clone() {
            query = query.filter(
                projects::id.eq_any(
                    project_members::table
                        .filter(project_members::user_id.eq(member_id))
                        .select(project_members::project_id),
                ),
            );
        }
        query
    }};
}

/// Database methods.
impl ProjectRow {
    /// Stores a project and its first owner (in the caller's transaction).
    pub async fn insert_with_owner(&self, conn: &mut Conn, owner: &MemberRow) -> DbResult<()> {
        db_run!(conn, |conn| {
            diesel::insert_into(projects::table)
                .values(self)
                .execute(conn)
                .await?;
            diesel::insert_into(project_members::table)
                .values(owner)
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// The project `id`.
    pub async fn find(conn: &mut Conn, id: &str) -> DbResult<Option<Self>> {
        db_run!(conn, |conn| {
            projects::table
                .find(id)
                .select(Self::as_select())
                .first(conn)
                .await
                .optional()
                .map_err(|error| unreadable_row(error, "projects", id))
        })
    }

    /// The projects with these ids, in no particular order.
    pub async fn find_by_ids(conn: &mut Conn, ids: &[String]) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            Ok(projects::table
                .filter(projects::id.eq_any(ids))
                .select(Self::as_select())
                .load(conn)
                .await?)
        })
    }

    /// Applies `changes` to the project in scope; returns the updated row, if any.
    pub async fn update(
        conn: &mut Conn,
        scope: &ProjectScope,
        changes: &ProjectChanges,
    ) -> DbResult<Option<Self>> {
        db_run!(conn, |conn| {
            Ok(diesel::update(projects::table.find(scope.project_id()))
                .set(changes)
                .returning(Self::as_returning())
                .get_result(conn)
                .await
                .optional()?)
        })
    }

    /// Deletes the project in scope; its members, environments and cases go with it (cascade).
    pub async fn delete(conn: &mut Conn, scope: &ProjectScope) -> DbResult<bool> {
        db_run!(conn, |conn| {
            Ok(diesel::delete(projects::table.find(scope.project_id()))
                .execute(conn)
                .await?
                > 0)
        })
    }

    /// One page of projects matching `filter`, ordered by id, after the cursor id.
    pub async fn page(
        conn: &mut Conn,
        filter: &ProjectFilter,
        after_id: Option<&str>,
        limit: i64,
    ) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            let mut query = filtered_projects!(filter).select(Self::as_select());
            if let Some(after_id) = after_id {
                query = query.filter(projects::id.gt(after_id.to_owned()));
            }
            Ok(query
                .order(projects::id.asc())
                .limit(limit)
                .load(conn)
                .await?)
        })
    }

    /// How many projects match `filter`.
    pub async fn count_matching(conn: &mut Conn, filter: &ProjectFilter) -> DbResult<i64> {
        db_run!(conn, |conn| {
            Ok(filtered_projects!(filter).count().get_result(conn).await?)
        })
    }
}

/// Database methods.
impl MemberRow {
    /// `user_id`'s membership of `project_id`, if any (the access check reads it).
    pub async fn find(conn: &mut Conn, project_id: &str, user_id: &str) -> DbResult<Option<Self>> {
        db_run!(conn, |conn| {
            project_members::table
                .find((project_id, user_id))
                .select(Self::as_select())
                .first(conn)
                .await
                .optional()
                .map_err(|error| unreadable_row(error, "project_members", user_id))
        })
    }

    /// Every member of the project in scope, earliest first.
    pub async fn list(conn: &mut Conn, scope: &ProjectScope) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            Ok(project_members::table
                .filter(project_members::project_id.eq(scope.project_id()))
                .order((
                    project_members::added_at.asc(),
                    project_members::user_id.asc(),
                ))
                .select(Self::as_select())
                .load(conn)
                .await?)
        })
    }

    /// `user_id`'s roles in whichever of `project_ids` they belong to.
    pub async fn roles_of_user(
        conn: &mut Conn,
        user_id: &str,
        project_ids: &[String],
    ) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            Ok(project_members::table
                .filter(project_members::user_id.eq(user_id))
                .filter(project_members::project_id.eq_any(project_ids))
                .select(Self::as_select())
                .load(conn)
                .await?)
        })
    }

    /// Whether `user_id` holds at least `role` in some project.
    pub async fn holds_role_somewhere(
        conn: &mut Conn,
        user_id: &str,
        role: ProjectRole,
    ) -> DbResult<bool> {
        let roles: Vec<ProjectRole> = ProjectRole::ALL
            .iter()
            .copied()
            .filter(|held| held.includes(role))
            .collect();
        db_run!(conn, |conn| {
            let count: i64 = project_members::table
                .filter(project_members::user_id.eq(user_id))
                .filter(project_members::role.eq_any(&roles))
                .count()
                .get_result(conn)
                .await?;
            Ok(count > 0)
        })
    }

    /// How many owners the project in scope has.
    pub async fn count_owners(conn: &mut Conn, scope: &ProjectScope) -> DbResult<i64> {
        db_run!(conn, |conn| {
            Ok(project_members::table
                .filter(project_members::project_id.eq(scope.project_id()))
                .filter(project_members::role.eq(ProjectRole::Owner))
                .count()
                .get_result(conn)
                .await?)
        })
    }

    /// Adds the membership.
    pub async fn insert(&self, conn: &mut Conn) -> DbResult<()> {
        db_run!(conn, |conn| {
            diesel::insert_into(project_members::table)
                .values(self)
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// Changes a member's role; returns the updated row, if the membership exists.
    pub async fn set_role(
        conn: &mut Conn,
        scope: &ProjectScope,
        user_id: &str,
        role: ProjectRole,
    ) -> DbResult<Option<Self>> {
        db_run!(conn, |conn| {
            Ok(
                diesel::update(project_members::table.find((scope.project_id(), user_id)))
                    .set(project_members::role.eq(role))
                    .returning(Self::as_returning())
                    .get_result(conn)
                    .await
                    .optional()?,
            )
        })
    }

    /// Removes the membership; returns whether it existed.
    pub async fn delete(conn: &mut Conn, scope: &ProjectScope, user_id: &str) -> DbResult<bool> {
        db_run!(conn, |conn| {
            Ok(
                diesel::delete(project_members::table.find((scope.project_id(), user_id)))
                    .execute(conn)
                    .await?
                    > 0,
            )
        })
    }
}
