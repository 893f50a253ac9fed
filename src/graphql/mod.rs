//! The GraphQL schema: roots merged from each domain, limits, and context helpers.

pub mod document;
pub mod limits;
pub mod loaders;
mod observe;
pub mod pagination;

use std::net::IpAddr;
use std::sync::Arc;

use async_graphql::{Context, MergedObject, MergedSubscription, Schema, SchemaBuilder};

use crate::app::App;
use crate::audit::graphql::AuditQuery;
use crate::auth::graphql::AuthMutation;
use crate::auth::{Session, Viewer};
use crate::cases::graphql::{CaseMutation, CaseQuery, CaseTransferMutation, CaseTransferQuery};
use crate::environments::graphql::{EnvironmentMutation, EnvironmentQuery};
use crate::error::AppResult;
use crate::monitoring::alerts::graphql::{AlertMutation, AlertQuery, AlertSubscription};
use crate::monitoring::graphql::{MonitoringMutation, MonitoringQuery, MonitoringSubscription};
use crate::notifications::graphql::{
    NotificationMutation, NotificationQuery, NotificationSubscription,
};
use crate::projects::access::{ProjectAccess, ProjectOwned};
use crate::projects::graphql::{ProjectMutation, ProjectQuery};
use crate::projects::model::ProjectRole;
use crate::runs::graphql::{RunMutation, RunQuery, RunSubscription};
use crate::servers::graphql::{ServerMutation, ServerQuery};
use crate::tasks::graphql::{TaskMutation, TaskQuery, TaskSubscription};
use crate::users::graphql::{UserMutation, UserQuery};

pub use observe::ExecutionStarted;

/// Every query, merged from the domains.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    UserQuery,
    NotificationQuery,
    ProjectQuery,
    EnvironmentQuery,
    CaseQuery,
    CaseTransferQuery,
    AuditQuery,
    ServerQuery,
    MonitoringQuery,
    RunQuery,
    AlertQuery,
    TaskQuery,
);

/// Every mutation, merged from the domains.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    AuthMutation,
    UserMutation,
    NotificationMutation,
    ProjectMutation,
    EnvironmentMutation,
    CaseMutation,
    CaseTransferMutation,
    ServerMutation,
    MonitoringMutation,
    RunMutation,
    AlertMutation,
    TaskMutation,
);

/// Every subscription, merged from the domains.
#[derive(MergedSubscription, Default)]
#[graphql(name = "Subscription")]
pub struct SubscriptionRoot(
    NotificationSubscription,
    MonitoringSubscription,
    RunSubscription,
    AlertSubscription,
    TaskSubscription,
);

/// The served schema.
pub type TidewatchSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// The client's network address, as seen by this node (for rate limits).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

fn builder() -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
}

/// The schema bound to a running node, with its limits and instrumentation.
pub fn build_schema(app: Arc<App>) -> TidewatchSchema {
    let limits = &app.config.limits;
    builder()
        .limit_depth(limits.max_query_depth)
        .limit_complexity(limits.max_query_complexity)
        .extension(limits::RequestLimits::new(
            limits.max_query_nesting,
            limits.max_query_complexity,
        ))
        .extension(observe::Observe::new(app.metrics.clone()))
        .data(loaders::Loaders::new(&app))
        .data(app)
        .finish()
}

/// The schema without a node behind it: enough for SDL and introspection.
pub fn unbound_schema() -> TidewatchSchema {
    builder().finish()
}

/// The schema in SDL, as checked into `schema.graphql`.
pub fn sdl() -> String {
    unbound_schema().sdl()
}

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
