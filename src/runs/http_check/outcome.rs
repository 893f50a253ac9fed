//! What one run of an HTTP case gives back: the verdict, the records of the
//! request and response, the assertions' results and why an exchange failed.

use async_graphql::{Enum, SimpleObject};
use serde::{Deserialize, Serialize};

use crate::cases::spec::KeyValue;

/// The verdict on one case run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CaseVerdict {
    /// A response arrived and every assertion held.
    Passed,
    /// A response arrived and at least one assertion failed.
    Failed,
    /// No complete response: the request could not be made or the exchange broke.
    Error,
}

/// Why no complete response was had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FailureKind {
    /// The host name could not be resolved.
    Dns,
    /// No connection could be made (refused, unreachable).
    Connect,
    /// The exchange did not finish within `timeoutMs`.
    Timeout,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// The request could not be built: undefined variable, malformed URL, bad header.
    InvalidRequest,
    /// The response body could not be read in full, or exceeded the size limit.
    ResponseBody,
    /// The egress policy refuses the address (`TIDEWATCH_EGRESS_DENY` / `TIDEWATCH_EGRESS_ALLOW`),
    /// for the request or for a redirect hop; nothing was sent to it.
    EgressDenied,
    /// Anything else: connection closed before a response, too many redirects.
    Other,
}

/// What one run of an HTTP case gives back.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpCaseRun {
    /// The outcome to store and show, every secret masked.
    pub outcome: HttpCaseOutcome,
    /// The real values of `outcome.captures`, in the same order: what later cases use.
    pub captured: Vec<KeyValue>,
}

impl HttpCaseRun {
    /// The captures whose recorded value was masked, with their real values: secrets
    /// for the rest of the run.
    pub fn masked_captures(&self) -> Vec<KeyValue> {
        self.captured
            .iter()
            .zip(&self.outcome.captures)
            .filter(|(real, shown)| real.value != shown.value)
            .map(|(real, _)| real.clone())
            .collect()
    }
}

/// The result of one HTTP case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, SimpleObject)]
#[serde(rename_all = "camelCase")]
pub struct HttpCaseOutcome {
    /// PASSED, FAILED or ERROR.
    pub status: CaseVerdict,
    /// Time from sending the request to the end of the response body (or to the failure), in ms.
    pub duration_ms: i64,
    /// The request as sent, with secrets masked.
    pub request: RequestRecord,
    /// The response, if one arrived (possibly partial when `error` is set).
    pub response: Option<ResponseRecord>,
    /// One outcome per assertion, in spec order; empty on ERROR.
    pub assertions: Vec<AssertionOutcome>,
    /// Variables captured from the response; empty unless the exchange succeeded.
    pub captures: Vec<KeyValue>,
    /// Why the exchange failed, when `status` is ERROR.
    pub error: Option<RequestFailure>,
}

/// The request as sent, after templating, with secrets masked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, SimpleObject)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    /// The HTTP method.
    pub method: String,
    /// The full URL including query parameters.
    pub url: String,
    /// Headers set by the case and the project defaults (sensitive values masked).
    pub headers: Vec<KeyValue>,
    /// The first 4 KiB of the body, if any.
    pub body_excerpt: Option<String>,
}

/// The response received, with secrets masked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, SimpleObject)]
#[serde(rename_all = "camelCase")]
pub struct ResponseRecord {
    /// The status code.
    pub status: i32,
    /// Response headers in order received (sensitive values masked).
    pub headers: Vec<KeyValue>,
    /// The first 4 KiB of the body, UTF-8 lossy.
    pub body_excerpt: String,
    /// Size of the body read, in bytes.
    pub body_bytes: i64,
}

/// The result of one assertion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, SimpleObject)]
#[serde(rename_all = "camelCase")]
pub struct AssertionOutcome {
    /// Position of the assertion in the spec, from 0.
    pub index: i32,
    /// STATUS, HEADER, JSON_PATH, BODY, KEYWORDS, RESPONSE_TIME, JSON_SCHEMA (INVALID for a malformed assertion).
    pub kind: String,
    /// What was checked, e.g. `status in 200..299`.
    pub description: String,
    /// What was expected.
    pub expected: String,
    /// What was found.
    pub actual: String,
    /// Whether the assertion held.
    pub passed: bool,
}

/// Why an exchange failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, SimpleObject)]
#[serde(rename_all = "camelCase")]
pub struct RequestFailure {
    /// The class of failure.
    pub kind: FailureKind,
    /// A human-readable explanation, secrets masked.
    pub message: String,
}

impl RequestFailure {
    pub(super) fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}
