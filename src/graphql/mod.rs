//! What every domain's GraphQL shares: the resolver context, pagination,
//! DataLoaders, limits and operation metrics. The schema roots that merge the
//! domains are in `crate::schema`.

pub mod document;
pub mod limits;
pub mod loaders;
mod observe;
pub mod pagination;

use std::net::IpAddr;
use std::sync::Arc;

use async_graphql::Context;

use crate::app::App;
use crate::auth::session::Session;
use crate::auth::Viewer;
use crate::error::AppResult;
use crate::projects::access::{ProjectAccess, ProjectOwned};
use crate::projects::model::ProjectRole;

pub use observe::{ExecutionStarted, Observe};

/// The client's network address, as seen by this node (for rate limits).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

/// What resolvers read from their context.
pub trait ContextExt {
    /// The node.
    fn app(&self) -> &Arc<App>;
    /// The authenticated caller, or `UNAUTHENTICATED`.
    fn viewer(&self) -> impl std::future::Future<Output = AppResult<Viewer>> + Send;
    /// The client's address, when known.
    fn client_addr(&self) -> Option<IpAddr>;
    /// The caller's access to a project with at least `needed` (see [`ProjectAccess`]).
    fn project_access(
        &self,
        project_id: &str,
        needed: ProjectRole,
    ) -> impl std::future::Future<Output = AppResult<ProjectAccess>> + Send;
    /// The project-owned object `id` and the caller's access to its project with
    /// at least `needed` (see [`ProjectAccess::for_object`]).
    fn object_access<T: ProjectOwned>(
        &self,
        id: &str,
        needed: ProjectRole,
    ) -> impl std::future::Future<Output = AppResult<(T, ProjectAccess)>> + Send;
}

impl ContextExt for Context<'_> {
    fn app(&self) -> &Arc<App> {
        self.data_unchecked::<Arc<App>>()
    }

    async fn viewer(&self) -> AppResult<Viewer> {
        match self.data_opt::<Session>() {
            Some(session) => session.viewer(self.app()).await,
            None => Err(crate::error::AppError::Unauthenticated(
                "authentication required".into(),
            )),
        }
    }

    fn client_addr(&self) -> Option<IpAddr> {
        self.data_opt::<ClientAddr>().and_then(|addr| addr.0)
    }

    async fn project_access(
        &self,
        project_id: &str,
        needed: ProjectRole,
    ) -> AppResult<ProjectAccess> {
        let viewer = self.viewer().await?;
        ProjectAccess::require(self.app(), &viewer, project_id, needed).await
    }

    async fn object_access<T: ProjectOwned>(
        &self,
        id: &str,
        needed: ProjectRole,
    ) -> AppResult<(T, ProjectAccess)> {
        let viewer = self.viewer().await?;
        ProjectAccess::for_object::<T>(self.app(), &viewer, id, needed).await
    }
}

/// A stored UTC timestamp as a GraphQL `DateTime`.
pub fn utc(stored: chrono::NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    stored.and_utc()
}
