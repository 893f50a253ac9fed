//! GraphQL for the audit trail: list and export a project's entries.

use async_graphql::{Context, InputObject, Object, ID};
use chrono::{DateTime, Utc};

use crate::connection_names;
use crate::error::{AppError, GqlResult};
use crate::graphql::pagination::{
    page_complexity, total_count_selected, CursorConnection, PageRequest,
};
use crate::graphql::{utc, ContextExt};
use crate::projects::model::ProjectRole;

use super::model::{AuditFilter, AuditRow};

connection_names!(AuditEntryConnection, AuditEntryEdge);

/// A recorded change.
pub struct AuditEntry(pub AuditRow);

/// Who did what, when, to which object.
#[Object]
impl AuditEntry {
    /// Unique id.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// Id of the user who acted (null once that account is deleted).
    async fn actor_id(&self) -> Option<ID> {
        self.0.actor_id.clone().map(ID)
    }

    /// Username of the actor at the time.
    async fn actor_name(&self) -> &str {
        &self.0.actor_name
    }

    /// What was done, e.g. `case.create`, `environment.update`, `member.add`.
    async fn action(&self) -> &str {
        &self.0.action
    }

    /// The kind of object: `project`, `member`, `environment`, `case`.
    async fn object_type(&self) -> &str {
        &self.0.object_type
    }

    /// The object's id.
    async fn object_id(&self) -> &str {
        &self.0.object_id
    }

    /// What changed, with secret values masked.
    async fn summary(&self) -> &str {
        &self.0.summary
    }

    /// When it happened.
    async fn created_at(&self) -> DateTime<Utc> {
        utc(self.0.created_at)
    }
}

/// Narrows an audit listing.
#[derive(InputObject, Default)]
pub struct AuditFilterInput {
    /// Only entries by this user.
    actor_id: Option<ID>,
    /// Only this action, e.g. `case.update`.
    action: Option<String>,
    /// Only this object type, e.g. `environment`.
    object_type: Option<String>,
    /// Only entries at or after this time.
    since: Option<DateTime<Utc>>,
    /// Only entries before this time.
    until: Option<DateTime<Utc>>,
}

impl From<AuditFilterInput> for AuditFilter {
    fn from(input: AuditFilterInput) -> Self {
        Self {
            actor_id: input.actor_id.map(|id| id.0),
            action: input.action,
            object_type: input.object_type,
            since: input.since.map(|t| t.naive_utc()),
            until: input.until.map(|t| t.naive_utc()),
        }
    }
}

/// Audit queries.
#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// A project's audit trail, newest first (any member may read it).
    #[graphql(complexity = "page_complexity(child_complexity, first)")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
        #[graphql(desc = "Which entries to list.")] filter: Option<AuditFilterInput>,
    ) -> GqlResult<CursorConnection<AuditEntry, AuditEntryConnection, AuditEntryEdge>> {
        let access = ctx.project_access(&project_id, ProjectRole::Viewer).await?;
        let page = PageRequest::new(first, after)?;
        let filter = AuditFilter::from(filter.unwrap_or_default());
        let mut conn = ctx.app().db.conn().await?;
        let rows = AuditRow::page(
            &mut conn,
            access.scope(),
            &filter,
            page.after_id.as_deref(),
            Some(page.fetch_limit()),
        )
        .await?;
        let total = if total_count_selected(ctx) {
            AuditRow::count(&mut conn, access.scope(), &filter).await?
        } else {
            0
        };
        Ok(page.connection(rows, total, |row| &row.id, AuditEntry))
    }

    /// A project's audit trail as CSV (header row, newest first).
    async fn export_audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
        #[graphql(desc = "Which entries to export.")] filter: Option<AuditFilterInput>,
    ) -> GqlResult<String> {
        let access = ctx.project_access(&project_id, ProjectRole::Viewer).await?;
        let filter = AuditFilter::from(filter.unwrap_or_default());
        let mut conn = ctx.app().db.conn().await?;
        let rows = AuditRow::page(&mut conn, access.scope(), &filter, None, None).await?;
        Ok(audit_csv(&rows)?)
    }
}

/// Renders entries as CSV.
fn audit_csv(rows: &[AuditRow]) -> Result<String, AppError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record([
            "created_at",
            "actor",
            "action",
            "object_type",
            "object_id",
            "summary",
        ])
        .map_err(AppError::internal)?;
    for row in rows {
        writer
            .write_record([
                utc(row.created_at).to_rfc3339().as_str(),
                &row.actor_name,
                &row.action,
                &row.object_type,
                &row.object_id,
                &row.summary,
            ])
            .map_err(AppError::internal)?;
    }
    let bytes = writer.into_inner().map_err(AppError::internal)?;
    String::from_utf8(bytes).map_err(AppError::internal)
}
