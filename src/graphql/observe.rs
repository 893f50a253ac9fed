//! Counts and times every GraphQL operation, and gives every error a code.
//!
//! Operations are labelled by their root field (`mutation.login`), which the
//! schema bounds, rather than by client-chosen operation names. Errors raised
//! before execution (syntax, unknown fields, wrong variable types, depth and
//! complexity limits) carry no code of their own and get `BAD_USER_INPUT`.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest,
};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection};
use async_graphql::{Response, ServerResult, Variables};

use crate::observability::Metrics;

/// Label for operations that did not parse or name no known root field.
const INVALID_OPERATION: &str = "invalid";

/// The extension factory added to the schema.
pub struct Observe {
    metrics: Arc<Metrics>,
}

impl Observe {
    /// Records into `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self { metrics }
    }
}

impl ExtensionFactory for Observe {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ObserveRequest {
            metrics: self.metrics.clone(),
            operation: Mutex::new(None),
        })
    }
}

struct ObserveRequest {
    metrics: Arc<Metrics>,
    operation: Mutex<Option<String>>,
}

#[async_trait::async_trait]
impl Extension for ObserveRequest {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let started = Instant::now();
        let mut response = next.run(ctx).await;
        for error in &mut response.errors {
            let extensions = error.extensions.get_or_insert_with(Default::default);
            if extensions.get("code").is_none() {
                extensions.set("code", "BAD_USER_INPUT");
            }
        }
        let operation = self
            .operation
            .lock()
            .expect("operation label lock")
            .take()
            .unwrap_or_else(|| INVALID_OPERATION.to_owned());
        let outcome = if response.errors.is_empty() {
            "ok"
        } else {
            "error"
        };
        self.metrics
            .record_graphql(&operation, outcome, started.elapsed());
        response
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let label = operation_label(ctx, &document);
        *self.operation.lock().expect("operation label lock") = Some(label);
        Ok(document)
    }
}

/// `query.me`, `mutation.login` …: the operation's first root field, if the schema knows it.
fn operation_label(ctx: &ExtensionContext<'_>, document: &ExecutableDocument) -> String {
    let Some((_, operation)) = document.operations.iter().next() else {
        return INVALID_OPERATION.to_owned();
    };
    let operation = &operation.node;
    let (kind, root_type) = match operation.ty {
        OperationType::Query => ("query", ctx.schema_env.registry.query_type.as_str()),
        OperationType::Mutation => (
            "mutation",
            ctx.schema_env
                .registry
                .mutation_type
                .as_deref()
                .unwrap_or(""),
        ),
        OperationType::Subscription => (
            "subscription",
            ctx.schema_env
                .registry
                .subscription_type
                .as_deref()
                .unwrap_or(""),
        ),
    };
    let field = operation
        .selection_set
        .node
        .items
        .iter()
        .find_map(|selection| match &selection.node {
            Selection::Field(field) => Some(field.node.name.node.as_str()),
            _ => None,
        });
    let known = field.filter(|name| {
        name.starts_with("__")
            || ctx
                .schema_env
                .registry
                .types
                .get(root_type)
                .and_then(|ty| ty.field_by_name(name))
                .is_some()
    });
    match known {
        Some(name) if name.starts_with("__") => format!("{kind}.introspection"),
        Some(name) => format!("{kind}.{name}"),
        None => INVALID_OPERATION.to_owned(),
    }
}
