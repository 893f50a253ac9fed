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

use std::cell::OnceCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::{Enum, SimpleObject};
use regex::Regex;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cases::spec::{
    Assertion, BodyAssertion, Capture, HeaderAssertion, HttpBody, HttpMethod, HttpRequest,
    HttpSpec, JsonPathAssertion, JsonPathOperator, JsonSchemaAssertion, KeyValue,
    KeywordsAssertion, ResponseTimeAssertion, StatusAssertion,
};
use crate::egress::{denial_in, EgressClient, EgressPolicy};

mod masking;

use masking::{is_sensitive_header, Masker};

/// Largest response body read, in bytes; a larger one is an error of kind `RESPONSE_BODY`.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// Largest body excerpt recorded, in bytes of UTF-8.
pub const EXCERPT_BYTES: usize = 4 * 1024;
/// Most redirects followed when a case follows redirects.
pub const MAX_REDIRECTS: usize = 10;
/// What a secret is replaced with in recorded text.
pub const MASK: &str = "***";
/// Most JSON Schema errors listed in an assertion's `actual`.
const MAX_SCHEMA_ERRORS: usize = 5;
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

impl CaseVerdict {
    /// The stored case status.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "PASSED",
            Self::Failed => "FAILED",
            Self::Error => "ERROR",
        }
    }
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
    fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
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

/// Fills every `{{name}}` placeholder; `Err` holds the name of the first undefined variable.
///
/// A name starts with an ASCII letter or `_` and holds ASCII letters, digits, `_`,
/// `.` and `-` (the environment variable rule); spaces inside the braces are
/// ignored. Text between braces that is not a name is left as is, and filled-in
/// values are not templated again.
pub fn template(text: &str, variables: &HashMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    scan(text, |piece| {
        match piece {
            Piece::Literal(literal) => out.push_str(literal),
            Piece::Name(name) => match variables.get(name) {
                Some(value) => out.push_str(value),
                None => return Err(name.to_string()),
            },
        }
        Ok(())
    })?;
    Ok(out)
}

/// The distinct placeholder names in a text, in order of first appearance.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    collect_placeholders(text, &mut names);
    names
}

/// The distinct placeholder names in every templated part of a request.
///
/// Templated are the URL, query names and values, header names and values, JSON
/// string values (not keys) at any depth, the text body, form names and values.
pub fn request_placeholders(request: &HttpRequest) -> Vec<String> {
    let mut names = Vec::new();
    collect_placeholders(&request.url, &mut names);
    for kv in request.query.iter().chain(&request.headers) {
        collect_placeholders(&kv.name, &mut names);
        collect_placeholders(&kv.value, &mut names);
    }
    if let Some(body) = &request.body {
        if let Some(json) = &body.json {
            json_placeholders(&json.0, &mut names);
        }
        if let Some(text) = &body.text {
            collect_placeholders(text, &mut names);
        }
        for kv in body.form.iter().flatten() {
            collect_placeholders(&kv.name, &mut names);
            collect_placeholders(&kv.value, &mut names);
        }
    }
    names
}

fn collect_placeholders(text: &str, names: &mut Vec<String>) {
    let _ = scan(text, |piece| {
        if let Piece::Name(name) = piece {
            if !names.iter().any(|known| known == name) {
                names.push(name.to_string());
            }
        }
        Ok(())
    });
}

fn json_placeholders(value: &Value, names: &mut Vec<String>) {
    match value {
        Value::String(text) => collect_placeholders(text, names),
        Value::Array(items) => items.iter().for_each(|item| json_placeholders(item, names)),
        Value::Object(map) => map.values().for_each(|item| json_placeholders(item, names)),
        _ => {}
    }
}

enum Piece<'t> {
    Literal(&'t str),
    Name(&'t str),
}

/// Splits a text into literals and `{{name}}` placeholders.
fn scan<'t>(
    text: &'t str,
    mut visit: impl FnMut(Piece<'t>) -> Result<(), String>,
) -> Result<(), String> {
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let inner = after[..end].trim();
        if is_variable_name(inner) {
            visit(Piece::Literal(&rest[..start]))?;
            visit(Piece::Name(inner))?;
            rest = &after[end + 2..];
        } else {
            // Not a placeholder: keep one brace and look again from the next one.
            visit(Piece::Literal(&rest[..start + 1]))?;
            rest = &rest[start + 1..];
        }
    }
    visit(Piece::Literal(rest))
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn method_name(method: HttpMethod) -> &'static str {
    match method {
        HttpMethod::Get => "GET",
        HttpMethod::Post => "POST",
        HttpMethod::Put => "PUT",
        HttpMethod::Patch => "PATCH",
        HttpMethod::Delete => "DELETE",
        HttpMethod::Head => "HEAD",
        HttpMethod::Options => "OPTIONS",
    }
}

fn reqwest_method(method: HttpMethod) -> reqwest::Method {
    match method {
        HttpMethod::Get => reqwest::Method::GET,
        HttpMethod::Post => reqwest::Method::POST,
        HttpMethod::Put => reqwest::Method::PUT,
        HttpMethod::Patch => reqwest::Method::PATCH,
        HttpMethod::Delete => reqwest::Method::DELETE,
        HttpMethod::Head => reqwest::Method::HEAD,
        HttpMethod::Options => reqwest::Method::OPTIONS,
    }
}

/// A request ready to send.
struct Prepared {
    method: reqwest::Method,
    url: reqwest::Url,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
    timeout: Duration,
    record: RequestRecord,
}

/// The record of a request that could not be prepared: the spec's own text.
fn raw_record(request: &HttpRequest, ctx: &CaseContext<'_>) -> RequestRecord {
    RequestRecord {
        method: method_name(request.method).to_string(),
        url: request.url.clone(),
        headers: merge_headers(ctx.default_headers.to_vec(), request.headers.clone()),
        body_excerpt: None,
    }
}

/// Project defaults, minus those the case sets itself, then the case's headers.
fn merge_headers(defaults: Vec<KeyValue>, case: Vec<KeyValue>) -> Vec<KeyValue> {
    let mut merged: Vec<KeyValue> = defaults
        .into_iter()
        .filter(|d| !case.iter().any(|c| c.name.eq_ignore_ascii_case(&d.name)))
        .collect();
    merged.extend(case);
    merged
}

fn invalid(message: impl Into<String>) -> RequestFailure {
    RequestFailure::new(FailureKind::InvalidRequest, message)
}

fn fill(text: &str, ctx: &CaseContext<'_>) -> Result<String, RequestFailure> {
    template(text, ctx.variables)
        .map_err(|name| invalid(format!("undefined variable {{{{{name}}}}}")))
}

fn fill_pairs(pairs: &[KeyValue], ctx: &CaseContext<'_>) -> Result<Vec<KeyValue>, RequestFailure> {
    pairs
        .iter()
        .map(|kv| {
            Ok(KeyValue {
                name: fill(&kv.name, ctx)?,
                value: fill(&kv.value, ctx)?,
            })
        })
        .collect()
}

fn fill_json(value: &Value, ctx: &CaseContext<'_>) -> Result<Value, RequestFailure> {
    Ok(match value {
        Value::String(text) => Value::String(fill(text, ctx)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| fill_json(item, ctx))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| Ok((key.clone(), fill_json(item, ctx)?)))
                .collect::<Result<_, RequestFailure>>()?,
        ),
        other => other.clone(),
    })
}

fn prepare(
    request: &HttpRequest,
    ctx: &CaseContext<'_>,
    masker: &mut Masker,
) -> Result<Prepared, RequestFailure> {
    if request.timeout_ms <= 0 {
        return Err(invalid(format!(
            "timeoutMs must be positive, got {}",
            request.timeout_ms
        )));
    }
    let url_text = fill(&request.url, ctx)?;
    let mut url = reqwest::Url::parse(url_text.trim())
        .map_err(|e| invalid(format!("malformed URL '{url_text}': {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(invalid(format!(
            "URL must be absolute http:// or https://, got '{url_text}'"
        )));
    }
    let query = fill_pairs(&request.query, ctx)?;
    if !query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for kv in &query {
            pairs.append_pair(&kv.name, &kv.value);
        }
    }

    let mut headers = merge_headers(
        fill_pairs(ctx.default_headers, ctx)?,
        fill_pairs(&request.headers, ctx)?,
    );
    for kv in headers.iter().filter(|kv| is_sensitive_header(&kv.name)) {
        masker.add_header_value(&kv.value);
    }
    let has_content_type = headers
        .iter()
        .any(|kv| kv.name.eq_ignore_ascii_case("content-type"));
    let set_content_type = |headers: &mut Vec<KeyValue>, value: &str| {
        if !has_content_type {
            headers.push(KeyValue {
                name: "content-type".to_string(),
                value: value.to_string(),
            });
        }
    };
    let body = match &request.body {
        None => None,
        Some(HttpBody {
            json: Some(json),
            text: None,
            form: None,
        }) => {
            let filled = fill_json(&json.0, ctx)?;
            set_content_type(&mut headers, "application/json");
            Some(serde_json::to_vec(&filled).map_err(|e| invalid(format!("JSON body: {e}")))?)
        }
        Some(HttpBody {
            json: None,
            text: Some(text),
            form: None,
        }) => Some(fill(text, ctx)?.into_bytes()),
        Some(HttpBody {
            json: None,
            text: None,
            form: Some(form),
        }) => {
            let fields = fill_pairs(form, ctx)?;
            let mut encoder = url::form_urlencoded::Serializer::new(String::new());
            for kv in &fields {
                encoder.append_pair(&kv.name, &kv.value);
            }
            set_content_type(&mut headers, "application/x-www-form-urlencoded");
            Some(encoder.finish().into_bytes())
        }
        Some(HttpBody {
            json: None,
            text: None,
            form: None,
        }) => None,
        Some(_) => {
            return Err(invalid(
                "body must set exactly one of json, text, form".to_string(),
            ))
        }
    };

    let mut header_map = HeaderMap::new();
    for kv in &headers {
        let name = HeaderName::from_bytes(kv.name.as_bytes())
            .map_err(|_| invalid(format!("invalid header name '{}'", kv.name)))?;
        let value = HeaderValue::from_str(&kv.value)
            .map_err(|_| invalid(format!("invalid value for header '{}'", kv.name)))?;
        header_map.append(name, value);
    }

    let record = RequestRecord {
        method: method_name(request.method).to_string(),
        url: url.to_string(),
        body_excerpt: body.as_deref().map(|bytes| masker.unmasked_excerpt(bytes)),
        headers,
    };
    Ok(Prepared {
        method: reqwest_method(request.method),
        url,
        headers: header_map,
        body,
        timeout: Duration::from_millis(request.timeout_ms.unsigned_abs().into()),
        record,
    })
}

/// A complete response.
struct Exchange {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    elapsed: Duration,
}

type ExchangeError = (Option<ResponseRecord>, RequestFailure, Duration);

/// Sends the request and reads the whole body, all within the case's time limit.
async fn exchange(
    client: &EgressClient,
    prepared: Prepared,
    masker: &Masker,
) -> Result<Exchange, ExchangeError> {
    let timeout_ms = prepared.timeout.as_millis();
    let timed_out = || {
        RequestFailure::new(
            FailureKind::Timeout,
            format!("no complete response within {timeout_ms} ms"),
        )
    };
    let denied = |denied: crate::egress::EgressDenied| {
        let failure = RequestFailure::new(FailureKind::EgressDenied, denied.to_string());
        (None, failure, Duration::ZERO)
    };
    let mut builder = client
        .request(prepared.method, prepared.url)
        .map_err(denied)?
        .headers(prepared.headers);
    if let Some(body) = prepared.body {
        builder = builder.body(body);
    }
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + prepared.timeout;
    let mut response = match tokio::time::timeout_at(deadline, builder.send()).await {
        Err(_) => return Err((None, timed_out(), started.elapsed())),
        Ok(Err(e)) => return Err((None, failure_from(&e), started.elapsed())),
        Ok(Ok(response)) => response,
    };
    let status = response.status().as_u16();
    let headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let partial = |body: &[u8]| {
        Some(ResponseRecord {
            status: i32::from(status),
            headers: key_values(&headers),
            body_excerpt: masker.unmasked_excerpt(body),
            body_bytes: i64::try_from(body.len()).unwrap_or(i64::MAX),
        })
    };
    let too_large = || {
        RequestFailure::new(
            FailureKind::ResponseBody,
            format!("response body larger than the {MAX_BODY_BYTES}-byte limit"),
        )
    };
    if response
        .content_length()
        .is_some_and(|length| length > MAX_BODY_BYTES as u64)
    {
        return Err((partial(&[]), too_large(), started.elapsed()));
    }
    let mut body = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, response.chunk()).await {
            Err(_) => return Err((partial(&body), timed_out(), started.elapsed())),
            Ok(Err(e)) => {
                let mut failure = failure_from(&e);
                if failure.kind != FailureKind::Timeout {
                    failure.kind = FailureKind::ResponseBody;
                }
                return Err((partial(&body), failure, started.elapsed()));
            }
            Ok(Ok(None)) => break,
            Ok(Ok(Some(chunk))) => {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    let room = MAX_BODY_BYTES - body.len();
                    body.extend_from_slice(&chunk[..room]);
                    return Err((partial(&body), too_large(), started.elapsed()));
                }
                body.extend_from_slice(&chunk);
            }
        }
    }
    Ok(Exchange {
        status,
        headers,
        body,
        elapsed: started.elapsed(),
    })
}

fn key_values(pairs: &[(String, String)]) -> Vec<KeyValue> {
    pairs
        .iter()
        .map(|(name, value)| KeyValue {
            name: name.clone(),
            value: value.clone(),
        })
        .collect()
}

/// Classifies a reqwest error and describes it with its whole chain of causes.
fn failure_from(error: &reqwest::Error) -> RequestFailure {
    let mut message = error.to_string();
    let mut causes: Vec<&(dyn std::error::Error + 'static)> = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        causes.push(cause);
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    let is_tls = causes.iter().any(|cause| is_tls_error(*cause));
    let is_dns = causes.iter().any(|cause| cause.to_string() == "dns error");
    let kind = if denial_in(error).is_some() {
        FailureKind::EgressDenied
    } else if error.is_timeout() {
        FailureKind::Timeout
    } else if error.is_builder() {
        FailureKind::InvalidRequest
    } else if is_tls {
        FailureKind::Tls
    } else if is_dns {
        FailureKind::Dns
    } else if error.is_connect() {
        FailureKind::Connect
    } else if error.is_body() || error.is_decode() {
        FailureKind::ResponseBody
    } else {
        FailureKind::Other
    };
    RequestFailure::new(kind, message)
}

/// Whether an error is a rustls error, possibly wrapped in (nested) `io::Error`s.
fn is_tls_error(error: &(dyn std::error::Error + 'static)) -> bool {
    if error.is::<rustls::Error>() {
        return true;
    }
    match error
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        Some(inner) => is_tls_error(inner),
        None => false,
    }
}

fn error_outcome(
    started: Instant,
    request: RequestRecord,
    failure: RequestFailure,
) -> HttpCaseOutcome {
    HttpCaseOutcome {
        status: CaseVerdict::Error,
        duration_ms: millis(started.elapsed()),
        request,
        response: None,
        assertions: Vec::new(),
        captures: Vec::new(),
        error: Some(failure),
    }
}

/// Evaluates every assertion and capture against a complete response (unmasked).
fn judge(
    spec: &HttpSpec,
    exchange: Exchange,
    request: RequestRecord,
    masker: &Masker,
) -> HttpCaseOutcome {
    let view = ResponseView::new(&exchange);
    let assertions: Vec<AssertionOutcome> = spec
        .assertions
        .iter()
        .enumerate()
        .map(|(index, assertion)| {
            let check = view.check(assertion);
            AssertionOutcome {
                index: i32::try_from(index).unwrap_or(i32::MAX),
                kind: check.kind.to_string(),
                description: check.description,
                expected: check.expected,
                actual: check.actual,
                passed: check.passed,
            }
        })
        .collect();
    let captures = spec
        .captures
        .iter()
        .filter_map(|capture| {
            view.capture(capture).map(|value| KeyValue {
                name: capture.variable.clone(),
                value,
            })
        })
        .collect();
    let status = if assertions.iter().all(|a| a.passed) {
        CaseVerdict::Passed
    } else {
        CaseVerdict::Failed
    };
    HttpCaseOutcome {
        status,
        duration_ms: millis(exchange.elapsed),
        request,
        response: Some(ResponseRecord {
            status: i32::from(exchange.status),
            headers: key_values(&exchange.headers),
            body_excerpt: masker.unmasked_excerpt(&exchange.body),
            body_bytes: i64::try_from(exchange.body.len()).unwrap_or(i64::MAX),
        }),
        assertions,
        captures,
        error: None,
    }
}

/// The result of one check.
struct Check {
    kind: &'static str,
    description: String,
    expected: String,
    actual: String,
    passed: bool,
}

/// A complete response with its text and JSON parsed on first use.
struct ResponseView<'e> {
    exchange: &'e Exchange,
    text: OnceCell<String>,
    json: OnceCell<Result<Value, String>>,
}

fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| text.to_string())
}

fn compact(value: &Value) -> String {
    value.to_string()
}

fn compile(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| format!("invalid regular expression: {e}"))
}

/// JSON equality where numbers compare by value (1 == 1.0).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(x), Some(y), _, _) => x == y,
                (_, _, Some(x), Some(y)) => x == y,
                _ => x.as_f64() == y.as_f64(),
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, a)| y.get(key).is_some_and(|b| json_eq(a, b)))
        }
        _ => a == b,
    }
}

fn operator_name(operator: JsonPathOperator) -> &'static str {
    match operator {
        JsonPathOperator::Exists => "EXISTS",
        JsonPathOperator::Equals => "EQUALS",
        JsonPathOperator::NotEquals => "NOT_EQUALS",
        JsonPathOperator::Contains => "CONTAINS",
        JsonPathOperator::Matches => "MATCHES",
        JsonPathOperator::GreaterThan => "GREATER_THAN",
        JsonPathOperator::LessThan => "LESS_THAN",
        JsonPathOperator::Count => "COUNT",
    }
}

impl<'e> ResponseView<'e> {
    fn new(exchange: &'e Exchange) -> Self {
        Self {
            exchange,
            text: OnceCell::new(),
            json: OnceCell::new(),
        }
    }

    fn text(&self) -> &str {
        self.text
            .get_or_init(|| String::from_utf8_lossy(&self.exchange.body).into_owned())
    }

    fn json(&self) -> Result<&Value, &str> {
        self.json
            .get_or_init(|| {
                if self.exchange.body.iter().all(u8::is_ascii_whitespace) {
                    return Err("body is empty, not JSON".to_string());
                }
                serde_json::from_slice(&self.exchange.body)
                    .map_err(|e| format!("body is not JSON ({e})"))
            })
            .as_ref()
            .map_err(String::as_str)
    }

    fn header_values(&self, name: &str) -> Vec<&str> {
        self.exchange
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn check(&self, assertion: &Assertion) -> Check {
        let Assertion {
            status,
            header,
            json_path,
            body,
            keywords,
            response_time,
            json_schema,
        } = assertion;
        let set = [
            status.is_some(),
            header.is_some(),
            json_path.is_some(),
            body.is_some(),
            keywords.is_some(),
            response_time.is_some(),
            json_schema.is_some(),
        ]
        .iter()
        .filter(|set| **set)
        .count();
        if set != 1 {
            return Check {
                kind: "INVALID",
                description: "assertion must set exactly one field".to_string(),
                expected: "exactly one of status, header, jsonPath, body, keywords, responseTime, jsonSchema".to_string(),
                actual: format!("{set} set"),
                passed: false,
            };
        }
        if let Some(a) = status {
            self.check_status(a)
        } else if let Some(a) = header {
            self.check_header(a)
        } else if let Some(a) = json_path {
            self.check_json_path(a)
        } else if let Some(a) = body {
            self.check_body(a)
        } else if let Some(a) = keywords {
            self.check_keywords(a)
        } else if let Some(a) = response_time {
            self.check_response_time(a)
        } else if let Some(a) = json_schema {
            self.check_json_schema(a)
        } else {
            unreachable!("exactly one field is set")
        }
    }

    fn check_status(&self, a: &StatusAssertion) -> Check {
        let status = i32::from(self.exchange.status);
        let mut conditions = Vec::new();
        let mut passed = true;
        if let Some(equals) = a.equals {
            conditions.push(format!("== {equals}"));
            passed &= status == equals;
        }
        if let Some(one_of) = &a.one_of {
            let list: Vec<String> = one_of.iter().map(i32::to_string).collect();
            conditions.push(format!("one of [{}]", list.join(", ")));
            passed &= one_of.contains(&status);
        }
        match (a.min, a.max) {
            (Some(min), Some(max)) => conditions.push(format!("in {min}..{max}")),
            (Some(min), None) => conditions.push(format!(">= {min}")),
            (None, Some(max)) => conditions.push(format!("<= {max}")),
            (None, None) => {}
        }
        passed &= a.min.is_none_or(|min| status >= min) && a.max.is_none_or(|max| status <= max);
        if conditions.is_empty() {
            return Check {
                kind: "STATUS",
                description: "status (no condition given)".to_string(),
                expected: "one of equals, oneOf, min/max".to_string(),
                actual: status.to_string(),
                passed: false,
            };
        }
        let expected = conditions.join(" and ");
        Check {
            kind: "STATUS",
            description: format!("status {expected}"),
            expected,
            actual: status.to_string(),
            passed,
        }
    }

    fn check_header(&self, a: &HeaderAssertion) -> Check {
        let name = a.name.to_ascii_lowercase();
        let values = self.header_values(&name);
        let mut conditions = Vec::new();
        let mut passed = true;
        let mut problem = None;
        let exists = match (a.exists, &a.equals, &a.matches) {
            (None, None, None) => Some(true),
            (exists, _, _) => exists,
        };
        if let Some(exists) = exists {
            conditions.push(if exists { "exists" } else { "is absent" }.to_string());
            passed &= values.is_empty() != exists;
        }
        if let Some(equals) = &a.equals {
            conditions.push(format!("equals {}", quoted(equals)));
            passed &= values.iter().any(|v| v == equals);
        }
        if let Some(pattern) = &a.matches {
            conditions.push(format!("matches /{pattern}/"));
            match compile(pattern) {
                Ok(re) => passed &= values.iter().any(|v| re.is_match(v)),
                Err(e) => {
                    passed = false;
                    problem = Some(e);
                }
            }
        }
        let expected = conditions.join(" and ");
        let actual = match problem {
            Some(problem) => problem,
            None if values.is_empty() => "absent".to_string(),
            None if is_sensitive_header(&name) => MASK.to_string(),
            None => values.join(", "),
        };
        Check {
            kind: "HEADER",
            description: format!("header {name} {expected}"),
            expected,
            actual,
            passed,
        }
    }

    fn check_json_path(&self, a: &JsonPathAssertion) -> Check {
        static NULL: Value = Value::Null;
        let operator = operator_name(a.operator);
        // JSON null and an absent value are one and the same in the spec types:
        // EQUALS / NOT_EQUALS without a value compare with null.
        let value = match (a.operator, &a.value) {
            (_, Some(value)) => Some(&value.0),
            (JsonPathOperator::Equals | JsonPathOperator::NotEquals, None) => Some(&NULL),
            (_, None) => None,
        };
        let description = match value {
            Some(value) => format!("{} {operator} {}", a.path, compact(value)),
            None => format!("{} {operator}", a.path),
        };
        let fail = |expected: String, actual: String| Check {
            kind: "JSON_PATH",
            description: description.clone(),
            expected,
            actual,
            passed: false,
        };
        let expected_text = value.map_or_else(|| "a value".to_string(), compact);
        let json = match self.json() {
            Ok(json) => json,
            Err(e) => return fail(expected_text, e.to_string()),
        };
        let path = match serde_json_path::JsonPath::parse(&a.path) {
            Ok(path) => path,
            Err(e) => return fail(expected_text, format!("invalid JSONPath: {e}")),
        };
        let nodes = path.query(json).all();
        // The value a path points at: its only match, or the array of all its matches.
        let found = match nodes.as_slice() {
            [] => None,
            [one] => Some((*one).clone()),
            many => Some(Value::Array(many.iter().map(|v| (*v).clone()).collect())),
        };
        let found_text = found
            .as_ref()
            .map_or_else(|| "no match".to_string(), compact);
        let result = |expected: String, actual: String, passed: bool| Check {
            kind: "JSON_PATH",
            description: description.clone(),
            expected,
            actual,
            passed,
        };

        if a.operator == JsonPathOperator::Exists {
            // `value: false` asks for the path to match nothing.
            let want = !matches!(value, Some(Value::Bool(false)));
            let expected = if want { "a match" } else { "no match" };
            let actual = match nodes.len() {
                0 => "no match".to_string(),
                1 => found_text,
                n => format!("{n} matches"),
            };
            return result(expected.to_string(), actual, nodes.is_empty() != want);
        }
        if a.operator == JsonPathOperator::Count {
            let count = match nodes.as_slice() {
                [Value::Array(items)] => items.len(),
                nodes => nodes.len(),
            };
            return match value.and_then(Value::as_u64) {
                Some(want) => result(want.to_string(), count.to_string(), count as u64 == want),
                None => fail(
                    "a non-negative integer value".to_string(),
                    count.to_string(),
                ),
            };
        }
        let Some(value) = value else {
            return fail(
                format!("a value to compare with ({operator} needs one)"),
                found_text,
            );
        };
        let Some(found) = found else {
            return fail(expected_text, found_text);
        };
        match a.operator {
            JsonPathOperator::Equals => result(expected_text, found_text, json_eq(&found, value)),
            JsonPathOperator::NotEquals => result(
                format!("not {expected_text}"),
                found_text,
                !json_eq(&found, value),
            ),
            JsonPathOperator::Contains => match (&found, value) {
                (Value::String(hay), Value::String(needle)) => result(
                    format!("contains {expected_text}"),
                    found_text,
                    hay.contains(needle.as_str()),
                ),
                (Value::String(hay), other) => {
                    let needle = compact(other);
                    result(
                        format!("contains {expected_text}"),
                        found_text,
                        hay.contains(&needle),
                    )
                }
                (Value::Array(items), needle) => result(
                    format!("an array containing {expected_text}"),
                    found_text,
                    items.iter().any(|item| json_eq(item, needle)),
                ),
                _ => fail(
                    format!("a string or array containing {expected_text}"),
                    found_text,
                ),
            },
            JsonPathOperator::Matches => {
                let Value::String(pattern) = value else {
                    return fail(
                        "a regular expression string as value".to_string(),
                        found_text,
                    );
                };
                let expected = format!("matches /{pattern}/");
                let re = match compile(pattern) {
                    Ok(re) => re,
                    Err(e) => return fail(expected, e),
                };
                match &found {
                    Value::String(text) => result(expected, found_text, re.is_match(text)),
                    _ => fail(expected, format!("{found_text} (not a string)")),
                }
            }
            JsonPathOperator::GreaterThan | JsonPathOperator::LessThan => {
                let greater = a.operator == JsonPathOperator::GreaterThan;
                let expected = format!("{} {expected_text}", if greater { ">" } else { "<" });
                let Some(bound) = value.as_f64() else {
                    return fail(format!("{expected} (value must be a number)"), found_text);
                };
                let Some(number) = found.as_f64() else {
                    return fail(expected, format!("{found_text} (not a number)"));
                };
                let passed = if greater {
                    number > bound
                } else {
                    number < bound
                };
                result(expected, found_text, passed)
            }
            JsonPathOperator::Exists | JsonPathOperator::Count => unreachable!("handled above"),
        }
    }

    fn check_body(&self, a: &BodyAssertion) -> Check {
        let text = self.text();
        let mut conditions = Vec::new();
        let mut findings = Vec::new();
        let mut passed = true;
        if let Some(needle) = &a.contains {
            conditions.push(format!("contains {}", quoted(needle)));
            let found = text.contains(needle.as_str());
            findings.push(if found { "found" } else { "not found" }.to_string());
            passed &= found;
        }
        if let Some(pattern) = &a.matches {
            conditions.push(format!("matches /{pattern}/"));
            match compile(pattern) {
                Ok(re) => {
                    let found = re.find(text);
                    findings.push(match found {
                        Some(m) => format!("matched {}", quoted(m.as_str())),
                        None => "no match".to_string(),
                    });
                    passed &= found.is_some();
                }
                Err(e) => {
                    findings.push(e);
                    passed = false;
                }
            }
        }
        if conditions.is_empty() {
            return Check {
                kind: "BODY",
                description: "body (no condition given)".to_string(),
                expected: "contains or matches".to_string(),
                actual: format!("{} bytes", self.exchange.body.len()),
                passed: false,
            };
        }
        let expected = conditions.join(" and ");
        let mut actual = findings.join("; ");
        if !passed {
            actual.push_str(&format!(" in a {}-byte body", self.exchange.body.len()));
        }
        Check {
            kind: "BODY",
            description: format!("body {expected}"),
            expected,
            actual,
            passed,
        }
    }

    fn check_keywords(&self, a: &KeywordsAssertion) -> Check {
        let body = self.text().to_lowercase();
        let missing: Vec<&String> = a
            .all
            .iter()
            .filter(|keyword| !body.contains(&keyword.to_lowercase()))
            .collect();
        let list = |words: &mut dyn Iterator<Item = &String>| {
            words.map(|w| quoted(w)).collect::<Vec<_>>().join(", ")
        };
        let expected = format!("all of [{}]", list(&mut a.all.iter()));
        let actual = if missing.is_empty() {
            "all present".to_string()
        } else {
            format!("missing [{}]", list(&mut missing.iter().copied()))
        };
        Check {
            kind: "KEYWORDS",
            description: format!("body contains (any case) {expected}"),
            expected,
            actual,
            passed: missing.is_empty(),
        }
    }

    fn check_response_time(&self, a: &ResponseTimeAssertion) -> Check {
        let elapsed = millis(self.exchange.elapsed);
        Check {
            kind: "RESPONSE_TIME",
            description: format!("response time < {} ms", a.below_ms),
            expected: format!("< {} ms", a.below_ms),
            actual: format!("{elapsed} ms"),
            passed: elapsed < i64::from(a.below_ms),
        }
    }

    fn check_json_schema(&self, a: &JsonSchemaAssertion) -> Check {
        let fail = |actual: String| Check {
            kind: "JSON_SCHEMA",
            description: "body matches JSON Schema".to_string(),
            expected: "valid against the schema".to_string(),
            actual,
            passed: false,
        };
        let validator = match jsonschema::validator_for(&a.schema.0) {
            Ok(validator) => validator,
            Err(e) => return fail(format!("invalid schema: {e}")),
        };
        let json = match self.json() {
            Ok(json) => json,
            Err(e) => return fail(e.to_string()),
        };
        let errors: Vec<String> = validator
            .iter_errors(json)
            .map(|e| {
                let at = e.instance_path().to_string();
                format!("at {}: {e}", if at.is_empty() { "/" } else { &at })
            })
            .collect();
        if errors.is_empty() {
            return Check {
                kind: "JSON_SCHEMA",
                description: "body matches JSON Schema".to_string(),
                expected: "valid against the schema".to_string(),
                actual: "valid".to_string(),
                passed: true,
            };
        }
        let mut actual = errors
            .iter()
            .take(MAX_SCHEMA_ERRORS)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ");
        if errors.len() > MAX_SCHEMA_ERRORS {
            actual.push_str(&format!(" (and {} more)", errors.len() - MAX_SCHEMA_ERRORS));
        }
        fail(actual)
    }

    /// The captured value, or `None` when the capture finds nothing (or is malformed).
    fn capture(&self, capture: &Capture) -> Option<String> {
        match (&capture.json_path, &capture.header, &capture.regex) {
            (Some(path), None, None) => {
                let path = serde_json_path::JsonPath::parse(path).ok()?;
                let json = self.json().ok()?;
                match path.query(json).first()? {
                    Value::String(text) => Some(text.clone()),
                    other => Some(compact(other)),
                }
            }
            (None, Some(name), None) => self.header_values(name).first().map(|v| v.to_string()),
            (None, None, Some(pattern)) => {
                let re = Regex::new(pattern).ok()?;
                // Default group 1; a pattern without groups yields its whole match.
                let group = match capture.group {
                    Some(group) => usize::try_from(group).ok()?,
                    None if re.captures_len() > 1 => 1,
                    None => 0,
                };
                let found = re.captures(self.text())?;
                found.get(group).map(|m| m.as_str().to_string())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
