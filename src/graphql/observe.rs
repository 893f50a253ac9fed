//! Counts, times and logs every GraphQL operation, and gives every error a code.
//!
//! Operations are labelled by their root field (`mutation.login`), which the
//! schema bounds, rather than by client-chosen operation names. Errors raised
//! before execution (syntax, unknown fields, wrong variable types, depth and
//! complexity limits) carry no code of their own and get `BAD_USER_INPUT`.
//!
//! The log line of an operation names it and carries a hash of the document's
//! shape ([`shape_hash`]); the document's text, its literals and its
//! variables are never logged, since any of them may hold a password.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextRequest,
};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection};
use async_graphql::{Response, ServerResult, Variables};

use super::document::shape_hash;
use crate::observability::Metrics;

/// Longest client-chosen operation name written to the log.
const MAX_LOGGED_NAME: usize = 64;

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
            document_hash: Mutex::new(None),
            operation_name: Mutex::new(None),
        })
    }
}

/// Set once a request has passed parsing and validation and begun to execute.
/// The HTTP layer attaches one per request to tell a request refused before
/// execution (answered without `data`) from one whose fields failed.
#[derive(Debug, Clone, Default)]
pub struct ExecutionStarted(Arc<AtomicBool>);

impl ExecutionStarted {
    /// Whether execution began.
    pub fn started(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

struct ObserveRequest {
    metrics: Arc<Metrics>,
    operation: Mutex<Option<String>>,
    document_hash: Mutex<Option<String>>,
    operation_name: Mutex<Option<String>>,
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
        let elapsed = started.elapsed();
        self.metrics.record_graphql(&operation, outcome, elapsed);
        let document = self
            .document_hash
            .lock()
            .expect("document hash lock")
            .take();
        let operation_name = self
            .operation_name
            .lock()
            .expect("operation name lock")
            .take();
        tracing::info!(
            operation,
            operation_name,
            document,
            outcome,
            errors = response.errors.len(),
            duration = ?elapsed,
            "graphql operation"
        );
        response
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        if let Some(flag) = ctx.data_opt::<ExecutionStarted>() {
            flag.0.store(true, Ordering::SeqCst);
        }
        *self.operation_name.lock().expect("operation name lock") =
            operation_name.map(|name| name.chars().take(MAX_LOGGED_NAME).collect());
        next.run(ctx, operation_name).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        *self.document_hash.lock().expect("document hash lock") = Some(shape_hash(query));
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
