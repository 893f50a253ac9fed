//! Creating notifications: stored first, then published.

use crate::app::App;
use crate::db::now;
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
    let row = NotificationRow {
        id: uuid::Uuid::now_v7().to_string(),
        user_id: user_id.to_owned(),
        kind: kind.as_str().to_owned(),
        message,
        created_at: now(),
        read_at: None,
    };
    row.insert(&app.db).await?;
    // The row is stored; a lost event only delays what `notifications` lists anyway.
    if let Err(error) = app.bus.publish_json(&topic(user_id), &row).await {
        tracing::warn!(%error, "notification stored but not published");
    }
    Ok(row)
}

/// Marks the caller's notifications read; ids of anyone else's are `NOT_FOUND`.
pub async fn mark_read(app: &App, user_id: &str, ids: &[String]) -> AppResult<usize> {
    let mut unique = ids.to_vec();
    unique.sort();
    unique.dedup();
    let owned =
        crate::notifications::model::NotificationRow::count_owned(&app.db, user_id, &unique)
            .await?;
    if usize::try_from(owned).unwrap_or(0) != unique.len() {
        return Err(AppError::NotFound("notification"));
    }
    Ok(NotificationRow::mark_read(&app.db, user_id, &unique, now()).await?)
}
