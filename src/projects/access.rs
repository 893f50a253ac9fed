//! Project-scoped capabilities: proof that the caller may act on a project.
//!
//! Resolvers never check a project role by hand. They ask for a
//! [`ProjectAccess`] with the role an operation needs; without membership the
//! project does not exist for the caller (`NOT_FOUND`), and with too small a
//! role the answer is `FORBIDDEN`. Admins act as owners everywhere.
//!
//! A `ProjectAccess` can only come from that check: its fields are private.
//! Project-scoped model queries take a [`ProjectScope`] (in [`super::scope`],
//! which models use without depending on the check), which only a
//! `ProjectAccess` or the node's own [`SystemActor`] hands out, so no query
//! runs on a project id that nobody vouched for.

use crate::app::App;
use crate::auth::Viewer;
use crate::db::Conn;
use crate::error::{AppError, AppResult};

use super::model::{MemberRow, ProjectRole, ProjectRow};
pub use super::scope::{ProjectOwned, ProjectScope, SystemActor};

/// A project the caller may act on with at least the role asked for.
#[derive(Debug, Clone)]
pub struct ProjectAccess {
    project: ProjectRow,
    scope: ProjectScope,
    role: ProjectRole,
    viewer: Viewer,
}

impl ProjectAccess {
    /// Checks that `viewer` holds at least `needed` in `project_id`, on a connection of its own.
    pub async fn require(
        app: &App,
        viewer: &Viewer,
        project_id: &str,
        needed: ProjectRole,
    ) -> AppResult<Self> {
        let mut conn = app.db.conn().await?;
        Self::check(&mut conn, viewer, project_id, needed).await
    }

    /// Checks that `viewer` holds at least `needed` in `project_id`.
    pub async fn check(
        conn: &mut Conn,
        viewer: &Viewer,
        project_id: &str,
        needed: ProjectRole,
    ) -> AppResult<Self> {
        let project = ProjectRow::find(conn, project_id)
            .await?
            .ok_or(AppError::NotFound("project"))?;
        let role = if viewer.is_admin() {
            ProjectRole::Owner
        } else {
            MemberRow::find(conn, project_id, viewer.id())
                .await?
                .map(|member| member.role)
                .ok_or(AppError::NotFound("project"))?
        };
        let access = Self {
            scope: ProjectScope::checked(&project.id),
            project,
            role,
            viewer: viewer.clone(),
        };
        access.ensure(needed)?;
        Ok(access)
    }

    /// The object `id` of type `T` and the caller's access to its project, on one
    /// connection. Without access the object does not exist for the caller
    /// (`NOT_FOUND` naming `T`); with too small a role the answer is `FORBIDDEN`.
    pub async fn for_object<T: ProjectOwned>(
        app: &App,
        viewer: &Viewer,
        id: &str,
        needed: ProjectRole,
    ) -> AppResult<(T, Self)> {
        let mut conn = app.db.conn().await?;
        let object = T::find(&mut conn, id)
            .await?
            .ok_or(AppError::NotFound(T::NAME))?;
        let access = Self::check(&mut conn, viewer, object.project_id(), needed)
            .await
            .map_err(|error| hidden_as(error, T::NAME))?;
        Ok((object, access))
    }

    /// The project, as stored when access was checked.
    pub fn project(&self) -> &ProjectRow {
        &self.project
    }

    /// The project's id.
    pub fn project_id(&self) -> &str {
        &self.project.id
    }

    /// The scope project-scoped queries take.
    pub fn scope(&self) -> &ProjectScope {
        &self.scope
    }

    /// The caller's effective role (`OWNER` for admins).
    pub fn role(&self) -> ProjectRole {
        self.role
    }

    /// The caller.
    pub fn viewer(&self) -> &Viewer {
        &self.viewer
    }

    /// `FORBIDDEN` unless the caller's role includes `needed`.
    pub fn ensure(&self, needed: ProjectRole) -> AppResult<()> {
        if self.role.includes(needed) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "this needs the {} role in the project",
                needed.as_str()
            )))
        }
    }
}

/// A project the caller cannot see hides the object reached through it.
fn hidden_as(error: AppError, object: &'static str) -> AppError {
    match error {
        AppError::NotFound(_) => AppError::NotFound(object),
        other => other,
    }
}
