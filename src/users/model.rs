//! User rows and their queries.

use chrono::NaiveDateTime;
use diesel::{AsChangeset, Insertable, Queryable, Selectable};
use diesel::{
    BoolExpressionMethods, EscapeExpressionMethods, ExpressionMethods, OptionalExtension, QueryDsl,
    SelectableHelper, TextExpressionMethods,
};

use crate::db::schema::users;
use crate::db::stored::unreadable_row;
use crate::db::{Conn, DbResult};
use crate::{db_run, stored_enum};

diesel::define_sql_function! {
    /// SQL `lower(text)`, the same on both backends.
    fn lower(value: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// A stored account. The password hash never leaves this layer's callers.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_login_at: Option<NaiveDateTime>,
}

/// Global role of an account.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// May manage every user and see every project.
    Admin,
    /// An ordinary account.
    User,
}

stored_enum!(Role {
    Admin = "ADMIN",
    User = "USER",
});

/// Filters for listing users.
#[derive(Debug, Default, Clone)]
pub struct UserFilter {
    /// Substring of the username (and of the email when `search_emails`), case-insensitive.
    pub search: Option<String>,
    /// Whether `search` also matches emails (only for callers who may read them).
    pub search_emails: bool,
    /// Only users with this role.
    pub role: Option<Role>,
    /// Only active (or only inactive) users.
    pub active: Option<bool>,
}

/// Changes to an account; `None` leaves a column as it is.
#[derive(Debug, Default, Clone, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub username: Option<String>,
    pub email: Option<String>,
    pub password_hash: Option<String>,
    pub role: Option<Role>,
    pub active: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
    pub last_login_at: Option<NaiveDateTime>,
}

/// The `users` table narrowed by a [`UserFilter`], boxed for whichever backend the
/// surrounding `db_run!` arm uses (a generic function cannot name that bound).
macro_rules! filtered_users {
    ($filter:expr) => {{
        let filter: &UserFilter = $filter;
        let mut query = users::table.into_boxed();
        if let Some(search) = filter.search.as_deref().filter(|s| !s.is_empty()) {
            let pattern = format!("%{}%", escape_like(&search.to_lowercase()));
            let username_matches = lower(users::username).like(pattern.clone()).escape('\\');
            query = if filter.search_emails {
                query.filter(username_matches.or(users::email.like(pattern).escape('\\')))
            } else {
                query.filter(username_matches)
            };
        }
        if let Some(role) = filter.role {
            query = query.filter(users::role.eq(role));
        }
        if let Some(active) = filter.active {
            query = query.filter(users::active.eq(active));
        }
        query
    }};
}

/// Local methods.
impl UserRow {
    /// True for an active admin.
    pub fn is_active_admin(&self) -> bool {
        self.active && self.role == Role::Admin
    }
}

/// Database methods.
impl UserRow {
    /// Stores a new account.
    pub async fn insert(&self, conn: &mut Conn) -> DbResult<()> {
        db_run!(conn, |conn| {
            diesel::insert_into(users::table)
                .values(self)
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// The account with this id.
    pub async fn find_by_id(conn: &mut Conn, id: &str) -> DbResult<Option<Self>> {
        db_run!(conn, |conn| {
            users::table
                .find(id)
                .select(Self::as_select())
                .first(conn)
                .await
                .optional()
                .map_err(|error| unreadable_row(error, "users", id))
        })
    }

    /// The accounts with these ids, in no particular order.
    pub async fn find_by_ids(conn: &mut Conn, ids: &[String]) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            Ok(users::table
                .filter(users::id.eq_any(ids))
                .select(Self::as_select())
                .load(conn)
                .await?)
        })
    }

    /// The account whose username is `username`, in any case.
    pub async fn find_by_username(conn: &mut Conn, username: &str) -> DbResult<Option<Self>> {
        let lowered = username.to_lowercase();
        db_run!(conn, |conn| {
            Ok(users::table
                .filter(lower(users::username).eq(&lowered))
                .select(Self::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// The account whose username (any case) or email is `login`.
    pub async fn find_by_username_or_email(conn: &mut Conn, login: &str) -> DbResult<Option<Self>> {
        let lowered = login.to_lowercase();
        db_run!(conn, |conn| {
            Ok(users::table
                .filter(
                    lower(users::username)
                        .eq(&lowered)
                        .or(users::email.eq(&lowered)),
                )
                .select(Self::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// Applies `changes` to the account `id`; returns the updated row, if any.
    pub async fn update(
        conn: &mut Conn,
        id: &str,
        changes: &UserChanges,
    ) -> DbResult<Option<Self>> {
        db_run!(conn, |conn| {
            Ok(diesel::update(users::table.find(id))
                .set(changes)
                .returning(Self::as_returning())
                .get_result(conn)
                .await
                .optional()?)
        })
    }

    /// One page of accounts matching `filter`, ordered by id, after the cursor id.
    pub async fn page(
        conn: &mut Conn,
        filter: &UserFilter,
        after_id: Option<&str>,
        limit: i64,
    ) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            let mut query = filtered_users!(filter).select(Self::as_select());
            if let Some(after_id) = after_id {
                query = query.filter(users::id.gt(after_id.to_owned()));
            }
            Ok(query.order(users::id.asc()).limit(limit).load(conn).await?)
        })
    }

    /// How many accounts match `filter`.
    pub async fn count_matching(conn: &mut Conn, filter: &UserFilter) -> DbResult<i64> {
        db_run!(conn, |conn| {
            Ok(filtered_users!(filter).count().get_result(conn).await?)
        })
    }
}

/// Escapes LIKE wildcards so a search matches them literally.
pub fn escape_like(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
