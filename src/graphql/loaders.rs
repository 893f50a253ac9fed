//! DataLoaders: objects referenced from lists are fetched in one query per batch.
//!
//! The loaders live in the schema's data without a cache, so they batch the
//! lookups of one request (and one tick) but never serve stale rows. A batch
//! may gather the keys of several callers at once, so a loader reads by its
//! keys alone: each key's answer is what the one-item read gives for it, and
//! project-scoped lists are keyed by the [`ProjectScope`] the caller holds.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, Loader};

use crate::app::App;
use crate::environments::model::EnvironmentRow;
use crate::error::{AppError, GraphqlError};
use crate::projects::model::{MemberRow, ProjectRow};
use crate::projects::scope::ProjectScope;
use crate::runs::model::RunRow;
use crate::tasks::model::TaskRow;
use crate::users::model::UserRow;

/// Loads users by id.
pub struct UserLoader(pub Arc<App>);

impl Loader<String> for UserLoader {
    type Value = UserRow;
    type Error = GraphqlError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, UserRow>, GraphqlError> {
        let mut conn = self.0.db.conn().await.map_err(AppError::from)?;
        let rows = UserRow::find_by_ids(&mut conn, keys)
            .await
            .map_err(AppError::from)?;
        Ok(rows.into_iter().map(|row| (row.id.clone(), row)).collect())
    }
}

/// Loads projects by id.
pub struct ProjectLoader(pub Arc<App>);

impl Loader<String> for ProjectLoader {
    type Value = ProjectRow;
    type Error = GraphqlError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, ProjectRow>, GraphqlError> {
        let mut conn = self.0.db.conn().await.map_err(AppError::from)?;
        let rows = ProjectRow::find_by_ids(&mut conn, keys)
            .await
            .map_err(AppError::from)?;
        Ok(rows.into_iter().map(|row| (row.id.clone(), row)).collect())
    }
}

/// Loads runs by id.
pub struct RunLoader(pub Arc<App>);

impl Loader<String> for RunLoader {
    type Value = RunRow;
    type Error = GraphqlError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, RunRow>, GraphqlError> {
        let mut conn = self.0.db.conn().await.map_err(AppError::from)?;
        let rows = RunRow::find_by_ids(&mut conn, keys)
            .await
            .map_err(AppError::from)?;
        Ok(rows
            .into_iter()
            .map(|row| (String::from(row.id.clone()), row))
            .collect())
    }
}

/// Loads the newest run of tasks, by task id (tasks that never fired a run have none).
pub struct LastRunLoader(pub Arc<App>);

impl Loader<String> for LastRunLoader {
    type Value = RunRow;
    type Error = GraphqlError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, RunRow>, GraphqlError> {
        let mut conn = self.0.db.conn().await.map_err(AppError::from)?;
        let rows = TaskRow::last_runs(&mut conn, keys)
            .await
            .map_err(AppError::from)?;
        Ok(rows
            .into_iter()
            .filter_map(|row| Some((row.task_id.clone()?, row)))
            .collect())
    }
}

/// Loads the members of projects, earliest first, by the caller's scope.
pub struct MembersLoader(pub Arc<App>);

impl Loader<ProjectScope> for MembersLoader {
    type Value = Vec<MemberRow>;
    type Error = GraphqlError;

    async fn load(
        &self,
        keys: &[ProjectScope],
    ) -> Result<HashMap<ProjectScope, Vec<MemberRow>>, GraphqlError> {
        let mut conn = self.0.db.conn().await.map_err(AppError::from)?;
        let rows = MemberRow::list_for_projects(&mut conn, keys)
            .await
            .map_err(AppError::from)?;
        Ok(by_project(keys, rows, |row| &row.project_id))
    }
}

/// Loads the environments of projects, by name, by the caller's scope.
pub struct EnvironmentsLoader(pub Arc<App>);

impl Loader<ProjectScope> for EnvironmentsLoader {
    type Value = Vec<EnvironmentRow>;
    type Error = GraphqlError;

    async fn load(
        &self,
        keys: &[ProjectScope],
    ) -> Result<HashMap<ProjectScope, Vec<EnvironmentRow>>, GraphqlError> {
        let mut conn = self.0.db.conn().await.map_err(AppError::from)?;
        let rows = EnvironmentRow::list_for_projects(&mut conn, keys)
            .await
            .map_err(AppError::from)?;
        Ok(by_project(keys, rows, |row| &row.project_id))
    }
}

/// `rows` of several projects as one list per scope, each in the order read;
/// a scope without rows gets an empty list, and rows of no scope are dropped.
fn by_project<T>(
    scopes: &[ProjectScope],
    rows: Vec<T>,
    project_id: impl Fn(&T) -> &str,
) -> HashMap<ProjectScope, Vec<T>> {
    let mut lists: HashMap<&str, Vec<T>> = scopes
        .iter()
        .map(|scope| (scope.project_id(), Vec::new()))
        .collect();
    for row in rows {
        if let Some(list) = lists.get_mut(project_id(&row)) {
            list.push(row);
        }
    }
    scopes
        .iter()
        .map(|scope| {
            let list = lists.remove(scope.project_id()).unwrap_or_default();
            (scope.clone(), list)
        })
        .collect()
}

/// The loaders a schema carries.
pub struct Loaders {
    /// Users by id.
    pub users: DataLoader<UserLoader>,
    /// Projects by id.
    pub projects: DataLoader<ProjectLoader>,
    /// Runs by id.
    pub runs: DataLoader<RunLoader>,
    /// Each task's newest run, by task id.
    pub last_runs: DataLoader<LastRunLoader>,
    /// Each project's members, by scope.
    pub members: DataLoader<MembersLoader>,
    /// Each project's environments, by scope.
    pub environments: DataLoader<EnvironmentsLoader>,
}

impl Loaders {
    /// Loaders reading through `app`, gathering keys for the configured batch window.
    pub fn new(app: &Arc<App>) -> Self {
        let window = Duration::from_millis(app.config.limits.batch_window_ms);
        Self {
            users: DataLoader::new(UserLoader(app.clone()), tokio::spawn).delay(window),
            projects: DataLoader::new(ProjectLoader(app.clone()), tokio::spawn).delay(window),
            runs: DataLoader::new(RunLoader(app.clone()), tokio::spawn).delay(window),
            last_runs: DataLoader::new(LastRunLoader(app.clone()), tokio::spawn).delay(window),
            members: DataLoader::new(MembersLoader(app.clone()), tokio::spawn).delay(window),
            environments: DataLoader::new(EnvironmentsLoader(app.clone()), tokio::spawn)
                .delay(window),
        }
    }
}
