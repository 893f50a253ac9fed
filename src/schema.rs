//! The GraphQL schema: the roots merged from each domain's `Query`,
//! `Mutation` and `Subscription` parts, bound to a node with its limits and
//! instrumentation.
//!
//! Domains depend on `crate::graphql` for shared helpers; only this module
//! depends on every domain's GraphQL.

use std::sync::Arc;

use async_graphql::{MergedObject, MergedSubscription, Schema, SchemaBuilder};

use crate::app::App;
use crate::audit::graphql::AuditQuery;
use crate::auth::graphql::AuthMutation;
use crate::cases::graphql::{CaseMutation, CaseQuery, CaseTransferMutation, CaseTransferQuery};
use crate::environments::graphql::{EnvironmentMutation, EnvironmentQuery};
use crate::graphql::{limits, loaders, Observe};
use crate::monitoring::alerts::graphql::{AlertMutation, AlertQuery, AlertSubscription};
use crate::monitoring::graphql::{MonitoringMutation, MonitoringQuery, MonitoringSubscription};
use crate::notifications::graphql::{
    NotificationMutation, NotificationQuery, NotificationSubscription,
};
use crate::projects::graphql::{ProjectMutation, ProjectQuery};
use crate::runs::graphql::{RunMutation, RunQuery, RunSubscription};
use crate::servers::graphql::{ServerMutation, ServerQuery};
use crate::tasks::graphql::{TaskMutation, TaskQuery, TaskSubscription};
use crate::users::graphql::{UserMutation, UserQuery};

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
        .extension(Observe::new(app.metrics.clone()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_connection_field_declares_its_page_complexity() {
        use async_graphql::OutputType;

        let mut registry = async_graphql::registry::Registry::default();
        QueryRoot::create_type_info(&mut registry);
        let mut connection_fields = 0;
        for (type_name, meta) in &registry.types {
            for (field_name, field) in meta.fields().into_iter().flatten() {
                if field.ty.trim_end_matches('!').ends_with("Connection") {
                    connection_fields += 1;
                    assert!(
                        field.compute_complexity.is_some(),
                        "{type_name}.{field_name} lacks page_complexity"
                    );
                }
            }
        }
        assert!(connection_fields >= 11, "{connection_fields}");
    }
}
