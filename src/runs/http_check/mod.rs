//! Runs one HTTP case and judges its response.
//!
//! [`HttpRunner::run`] fills in `{{variable}}` placeholders, sends the request,
//! reads the response (bounded by [`MAX_BODY_BYTES`]), evaluates every
//! assertion and takes the captures. The outcome is built from what was sent
//! and received, then masked in one pass over every field (captures included)
//! before it leaves the runner, so it can be stored and shown as is; the real
//! captured values are handed back beside it, for the cases that use them.
//!
//! Every connection obeys the node's egress policy (see `crate::egress`),
//! redirect hops included; a refused address is an error of kind `EGRESS_DENIED`.
//!
//! Dropping the future returned by [`HttpRunner::run`] aborts the request at
//! once (the connection is closed), so a caller may cancel it with
//! `tokio::select!` or `tokio::time::timeout`.
//!
//! Choices beyond the spec's own docs:
//! - `timeoutMs` bounds the whole exchange: connecting, redirects and the body.
//! - A JSON body gets `content-type: application/json` and a form body
//!   `application/x-www-form-urlencoded` unless a header sets one; a text body gets none.
//! - A case header replaces a default header of the same name (case-insensitive).
//! - A JSONPath's value is its only match, or the array of all its matches when
//!   it matches several (so `$.items[*].id EQUALS [1,2,3]` works). `EXISTS` with
//!   `value: false` asks for no match. `EQUALS`/`NOT_EQUALS` without a value compare
//!   with null (the spec types cannot tell a JSON null from an absent value).
//! - A header assertion holds if any of the header's values satisfies it; one
//!   with none of `exists`/`equals`/`matches` means `exists: true`. Status, header and
//!   body assertions with several conditions set need all of them to hold.
//! - An assertion with none or several of its fields set fails with kind `INVALID`.
//! - A regex capture without `group` takes group 1, or the whole match when the
//!   pattern has no group. A captured value is masked like any other recorded text
//!   (a value that equals or contains a secret shows `***` there).
//! - Masked as `***`: every secret (also URL-form- and JSON-encoded), and values of
//!   sensitive request headers (4 bytes or longer) wherever they reappear;
//!   sensitive headers' values are always `***` in records.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cases::spec::{HttpSpec, KeyValue};
use crate::egress::{EgressClient, EgressPolicy};

mod exchange;
mod judge;
mod masking;
mod outcome;
mod request;
mod template;

use exchange::{error_outcome, exchange, millis};
use judge::judge;
use masking::Masker;
use request::{prepare, raw_record};

pub use outcome::{
    AssertionOutcome, CaseVerdict, FailureKind, HttpCaseOutcome, HttpCaseRun, RequestFailure,
    RequestRecord, ResponseRecord,
};
pub use template::{placeholders, request_placeholders, template};

/// Largest response body read, in bytes; a larger one is an error of kind `RESPONSE_BODY`.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// Largest body excerpt recorded, in bytes of UTF-8.
pub const EXCERPT_BYTES: usize = 4 * 1024;
/// Most redirects followed when a case follows redirects.
pub const MAX_REDIRECTS: usize = 10;
/// What a secret is replaced with in recorded text.
pub const MASK: &str = "***";
/// The `User-Agent` sent unless the case sets one.
const USER_AGENT: &str = concat!("tidewatch/", env!("CARGO_PKG_VERSION"));

/// What a case runs with.
#[derive(Debug, Clone, Copy)]
pub struct CaseContext<'a> {
    /// Values for `{{name}}` placeholders.
    pub variables: &'a HashMap<String, String>,
    /// The project's default headers; a case header of the same name replaces one.
    pub default_headers: &'a [KeyValue],
    /// Values masked as `***` in the recorded request, response and assertion details.
    pub secrets: &'a [String],
}

/// Runs HTTP cases under an egress policy; holds one connection pool that follows
/// redirects and one that does not.
#[derive(Debug, Clone)]
pub struct HttpRunner {
    follow: EgressClient,
    no_follow: EgressClient,
}

impl HttpRunner {
    /// Builds the runner's clients (rustls); panics only if the TLS backend cannot start.
    pub fn new(egress: Arc<EgressPolicy>) -> Self {
        Self::try_new(egress).expect("the HTTP client (rustls) could not be built")
    }

    /// Builds the runner's clients, returning the error instead of panicking.
    pub fn try_new(egress: Arc<EgressPolicy>) -> Result<Self, reqwest::Error> {
        let builder = || {
            reqwest::Client::builder()
                .use_rustls_tls()
                .user_agent(USER_AGENT)
                .pool_idle_timeout(Duration::from_secs(30))
        };
        Ok(Self {
            follow: EgressClient::new(egress.clone(), builder(), Some(MAX_REDIRECTS))?,
            no_follow: EgressClient::new(egress, builder(), None)?,
        })
    }

    /// Runs one HTTP case and judges it; never panics, failures end up in the outcome.
    pub async fn run(&self, spec: &HttpSpec, ctx: &CaseContext<'_>) -> HttpCaseRun {
        let started = Instant::now();
        let mut masker = Masker::new(ctx.secrets);
        let unmasked = match prepare(&spec.request, ctx, &mut masker) {
            Err(failure) => error_outcome(started, raw_record(&spec.request, ctx), failure),
            Ok(prepared) => {
                let client = if spec.request.follow_redirects {
                    &self.follow
                } else {
                    &self.no_follow
                };
                let record = prepared.record.clone();
                match exchange(client, prepared, &masker).await {
                    Ok(exchange) => judge(spec, exchange, record, &masker),
                    Err((response, failure, elapsed)) => HttpCaseOutcome {
                        status: CaseVerdict::Error,
                        duration_ms: millis(elapsed),
                        request: record,
                        response,
                        assertions: Vec::new(),
                        captures: Vec::new(),
                        error: Some(failure),
                    },
                }
            }
        };
        HttpCaseRun {
            captured: unmasked.captures.clone(),
            outcome: masker.outcome(unmasked),
        }
    }
}

#[cfg(test)]
mod tests;
