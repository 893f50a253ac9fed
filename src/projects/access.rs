//! Project-scoped capabilities: proof that the caller may act on a project.
//!
//! Resolvers never check a project role by hand. They ask for a
//! [`ProjectAccess`] with the role an operation needs; without membership the
//! project does not exist for the caller (`NOT_FOUND`), and with too small a
//! role the answer is `FORBIDDEN`. Admins act as owners everywhere.

use crate::app::App;
use crate::auth::Viewer;
use crate::error::{AppError, AppResult};

use super::model::{MemberRow, ProjectRole, ProjectRow};

/// A project the caller may act on with at least `role`.
#[derive(Debug, Clone)]
pub struct ProjectAccess {
    /// The project, as stored when access was checked.
    pub project: ProjectRow,
    /// The caller's effective role (`OWNER` for admins).
    pub role: ProjectRole,
    /// The caller.
    pub viewer: Viewer,
}

impl ProjectAccess {
    /// Checks that `viewer` holds at least `needed` in `project_id`.
    pub async fn require(
        app: &App,
        viewer: &Viewer,
        project_id: &str,
        needed: ProjectRole,
    ) -> AppResult<Self> {
        let project = ProjectRow::find(&app.db, project_id)
            .await?
            .ok_or(AppError::NotFound("project"))?;
        let role = if viewer.is_admin() {
            ProjectRole::Owner
        } else {
            MemberRow::find(&app.db, project_id, viewer.id())
                .await?
                .map(|member| ProjectRole::from_stored(&member.role))
                .ok_or(AppError::NotFound("project"))?
        };
        if !role.includes(needed) {
            return Err(AppError::Forbidden(format!(
                "this needs the {} role in the project",
                needed.as_str()
            )));
        }
        Ok(Self {
            project,
            role,
            viewer: viewer.clone(),
        })
    }

    /// Like [`ProjectAccess::require`], reached through one of the project's objects:
    /// without access, it is the `object` that does not exist for the caller.
    pub async fn require_for_object(
        app: &App,
        viewer: &Viewer,
        project_id: &str,
        needed: ProjectRole,
        object: &'static str,
    ) -> AppResult<Self> {
        Self::require(app, viewer, project_id, needed)
            .await
            .map_err(|error| match error {
                AppError::NotFound(_) => AppError::NotFound(object),
                other => other,
            })
    }

    /// The project's id.
    pub fn project_id(&self) -> &str {
        &self.project.id
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
