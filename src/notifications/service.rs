//! Creating notifications: stored first, then published.

use crate::app::App;
use crate::db::{now, Conn, DbResult};
use crate::error::{AppError, AppResult};

use super::model::{NotificationKind, NotificationRow};

/// The event topic carrying `user_id`'s new notifications.
pub fn topic(user_id: &str) -> String {
    format!("notifications.{user_id}")
}

/// Stores a notification for `user_id`, then streams it to their live subscriptions.
pub async fn notify(
    app: &App,
    user_id: &str,
    kind: NotificationKind,
    message: String,
) -> AppResult<NotificationRow> {
    let row = store(&mut app.db.conn().await?, user_id, kind, message).await?;
    publish(app, &row).await;
    Ok(row)
}

/// Stores a notification on `conn` (in the caller's transaction); the caller
/// [`publish`]es it once that has committed.
pub async fn store(
    conn: &mut Conn,
    user_id: &str,
    kind: NotificationKind,
    message: String,
) -> DbResult<NotificationRow> {
    let row = NotificationRow {
        id: uuid::Uuid::now_v7().to_string(),
        user_id: user_id.to_owned(),
        kind,
        message,
        created_at: now(),
        read_at: None,
    };
    row.insert(conn).await?;
    Ok(row)
}

/// Streams a stored notification to its user's live subscriptions.
pub async fn publish(app: &App, row: &NotificationRow) {
    // The row is stored; a lost event only delays what `notifications` lists anyway.
    if let Err(error) = app.bus.publish_json(&topic(&row.user_id), row).await {
        tracing::warn!(%error, "notification stored but not published");
    }
}

/// Marks the caller's notifications read; ids of anyone else's are `NOT_FOUND`.
/// Returns how many changed and how many unread ones the caller has left.
pub async fn mark_read(app: &App, user_id: &str, ids: &[String]) -> AppResult<(usize, i64)> {
    let mut unique = ids.to_vec();
    unique.sort();
    unique.dedup();
    app.db
        .transaction(async |conn| {
            let owned = NotificationRow::count_owned(conn, user_id, &unique).await?;
            if usize::try_from(owned).unwrap_or(0) != unique.len() {
                return Err(AppError::NotFound("notification"));
            }
            let marked = NotificationRow::mark_read(conn, user_id, &unique, now()).await?;
            let unread = NotificationRow::count_for_user(conn, user_id, true).await?;
            Ok((marked, unread))
        })
        .await
}
