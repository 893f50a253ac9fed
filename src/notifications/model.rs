//! Notification rows and their queries.

use chrono::NaiveDateTime;
use diesel::{ExpressionMethods, QueryDsl, SelectableHelper};
use diesel::{Insertable, Queryable, Selectable};
use serde::{Deserialize, Serialize};

use crate::db::schema::notifications;
use crate::db::{Conn, DbResult};
use crate::{db_run, stored_enum};

/// What a notification is about.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotificationKind {
    /// An admin changed the user's role.
    RoleChanged,
    /// An admin activated the user's account.
    AccountActivated,
    /// An admin deactivated the user's account.
    AccountDeactivated,
    /// An alert of a project the user maintains started firing.
    AlertFiring,
    /// An alert of a project the user maintains resolved.
    AlertResolved,
    /// A run the user started finished.
    RunFinished,
}

stored_enum!(NotificationKind {
    RoleChanged = "ROLE_CHANGED",
    AccountActivated = "ACCOUNT_ACTIVATED",
    AccountDeactivated = "ACCOUNT_DEACTIVATED",
    AlertFiring = "ALERT_FIRING",
    AlertResolved = "ALERT_RESOLVED",
    RunFinished = "RUN_FINISHED",
});

/// A stored notification; also the payload of the live event.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = notifications)]
pub struct NotificationRow {
    pub id: String,
    pub user_id: String,
    pub kind: NotificationKind,
    pub message: String,
    pub created_at: NaiveDateTime,
    pub read_at: Option<NaiveDateTime>,
}

/// Database methods.
impl NotificationRow {
    /// Stores a new notification.
    pub async fn insert(&self, conn: &mut Conn) -> DbResult<()> {
        db_run!(conn, |conn| {
            diesel::insert_into(notifications::table)
                .values(self)
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// One page of `user_id`'s notifications, newest first, older than the cursor id.
    pub async fn page_for_user(
        conn: &mut Conn,
        user_id: &str,
        unread_only: bool,
        before_id: Option<&str>,
        limit: i64,
    ) -> DbResult<Vec<Self>> {
        db_run!(conn, |conn| {
            let mut query = notifications::table
                .filter(notifications::user_id.eq(user_id))
                .select(Self::as_select())
                .into_boxed();
            if unread_only {
                query = query.filter(notifications::read_at.is_null());
            }
            if let Some(before_id) = before_id {
                query = query.filter(notifications::id.lt(before_id.to_owned()));
            }
            Ok(query
                .order(notifications::id.desc())
                .limit(limit)
                .load(conn)
                .await?)
        })
    }

    /// How many notifications `user_id` has (only unread ones when asked).
    pub async fn count_for_user(
        conn: &mut Conn,
        user_id: &str,
        unread_only: bool,
    ) -> DbResult<i64> {
        db_run!(conn, |conn| {
            let mut query = notifications::table
                .filter(notifications::user_id.eq(user_id))
                .into_boxed();
            if unread_only {
                query = query.filter(notifications::read_at.is_null());
            }
            Ok(query.count().get_result(conn).await?)
        })
    }

    /// How many of `ids` belong to `user_id`.
    pub async fn count_owned(conn: &mut Conn, user_id: &str, ids: &[String]) -> DbResult<i64> {
        db_run!(conn, |conn| {
            Ok(notifications::table
                .filter(notifications::user_id.eq(user_id))
                .filter(notifications::id.eq_any(ids))
                .count()
                .get_result(conn)
                .await?)
        })
    }

    /// Marks `ids` of `user_id` read (those not read yet); returns how many changed.
    pub async fn mark_read(
        conn: &mut Conn,
        user_id: &str,
        ids: &[String],
        at: NaiveDateTime,
    ) -> DbResult<usize> {
        db_run!(conn, |conn| {
            Ok(diesel::update(
                notifications::table
                    .filter(notifications::user_id.eq(user_id))
                    .filter(notifications::id.eq_any(ids))
                    .filter(notifications::read_at.is_null()),
            )
            .set(notifications::read_at.eq(at))
            .execute(conn)
            .await?)
        })
    }
}
