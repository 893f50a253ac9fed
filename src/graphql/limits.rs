//! Limits every GraphQL request meets, whatever carried it (POST, GET, batch, WebSocket).
//!
//! The nesting of the document is checked before the parser runs: this
//! extension's `parse_query` hook refuses a too-deep document without calling
//! the next step, which is the one that parses. The complexity of a batch's
//! operations is added up against one [`BatchBudget`] shared by the batch, so
//! many small operations cannot together ask for more than one may.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{ErrorExtensionValues, ServerError, ServerResult, ValidationResult, Variables};

use super::document::nests_deeper_than;

/// The extension factory added to the schema.
pub struct RequestLimits {
    max_nesting: usize,
    max_complexity: usize,
}

impl RequestLimits {
    /// Refuses documents nested deeper than `max_nesting`, and batches whose
    /// operations add up to more than `max_complexity`.
    pub fn new(max_nesting: usize, max_complexity: usize) -> Self {
        Self {
            max_nesting,
            max_complexity,
        }
    }
}

impl ExtensionFactory for RequestLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Self {
            max_nesting: self.max_nesting,
            max_complexity: self.max_complexity,
        })
    }
}

/// The complexity the operations of one batch have used so far; attach one
/// (the same) to every request of a batch.
#[derive(Debug, Clone, Default)]
pub struct BatchBudget(Arc<AtomicUsize>);

impl BatchBudget {
    /// Adds `complexity`; the batch's total afterwards.
    fn spend(&self, complexity: usize) -> usize {
        self.0
            .fetch_add(complexity, Ordering::SeqCst)
            .saturating_add(complexity)
    }
}

/// A request refused before execution, coded like any `BAD_USER_INPUT`.
pub fn refusal(field: &str, message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", "BAD_USER_INPUT");
    extensions.set("field", field);
    error.extensions = Some(extensions);
    error
}

#[async_trait::async_trait]
impl Extension for RequestLimits {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        if nests_deeper_than(query, self.max_nesting) {
            return Err(refusal(
                "query",
                format!(
                    "the document nests brackets, braces or parentheses deeper than {} levels",
                    self.max_nesting
                ),
            ));
        }
        next.run(ctx, query, variables).await
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        if let Some(budget) = ctx.data_opt::<BatchBudget>() {
            let total = budget.spend(result.complexity);
            if total > self.max_complexity {
                return Err(vec![refusal(
                    "query",
                    format!(
                        "the batch is too complex: its operations add up to {total}, over the limit of {}",
                        self.max_complexity
                    ),
                )]);
            }
        }
        Ok(result)
    }
}
