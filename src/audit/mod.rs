//! The audit trail: who did what, when, to which object.

pub mod graphql;
pub mod model;

use crate::auth::Viewer;
use crate::db::{now, Conn, DbResult};
use crate::projects::access::ProjectAccess;

use model::AuditRow;

/// One change to record.
pub struct AuditEvent<'a> {
    /// The project the object belongs to.
    pub project_id: Option<&'a str>,
    /// What was done, e.g. `case.create`.
    pub action: &'a str,
    /// The kind of object, e.g. `case`.
    pub object_type: &'a str,
    /// The object's id.
    pub object_id: &'a str,
    /// A short summary of the change; secrets must already be masked.
    pub summary: String,
}

/// Records `event` as done by `actor`, on `conn`: pass the transaction that
/// made the change, so the change and its entry commit together.
pub async fn record(conn: &mut Conn, actor: &Viewer, event: AuditEvent<'_>) -> DbResult<()> {
    let row = AuditRow {
        id: uuid::Uuid::now_v7().to_string(),
        project_id: event.project_id.map(str::to_owned),
        actor_id: Some(actor.id().to_owned()),
        actor_name: actor.user.username.clone(),
        action: event.action.to_owned(),
        object_type: event.object_type.to_owned(),
        object_id: event.object_id.to_owned(),
        summary: event.summary,
        created_at: now(),
    };
    row.insert(conn).await
}

/// Records a change to an object of the project `access` is for, done by its viewer.
pub async fn record_in_project(
    conn: &mut Conn,
    access: &ProjectAccess,
    object_type: &str,
    action: &str,
    object_id: &str,
    summary: String,
) -> DbResult<()> {
    record(
        conn,
        access.viewer(),
        AuditEvent {
            project_id: Some(access.project_id()),
            action,
            object_type,
            object_id,
            summary,
        },
    )
    .await
}
