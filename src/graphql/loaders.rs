//! DataLoaders: objects referenced from lists are fetched in one query per batch.
//!
//! The loaders live in the schema's data without a cache, so they batch the
//! lookups of one request (and one tick) but never serve stale rows.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, Loader};

use crate::app::App;
use crate::error::{AppError, GraphqlError};
use crate::projects::model::ProjectRow;
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

/// The loaders a schema carries.
pub struct Loaders {
    /// Users by id.
    pub users: DataLoader<UserLoader>,
    /// Projects by id.
    pub projects: DataLoader<ProjectLoader>,
}

impl Loaders {
    /// Loaders reading through `app`, gathering keys for the configured batch window.
    pub fn new(app: &Arc<App>) -> Self {
        let window = Duration::from_millis(app.config.limits.batch_window_ms);
        Self {
            users: DataLoader::new(UserLoader(app.clone()), tokio::spawn).delay(window),
            projects: DataLoader::new(ProjectLoader(app.clone()), tokio::spawn).delay(window),
        }
    }
}
