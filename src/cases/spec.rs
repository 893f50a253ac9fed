//! The typed spec of each case kind.
//!
//! One set of types serves as GraphQL input, GraphQL output and stored JSON,
//! so what a client writes is what it reads back and what a run snapshots.
//! Where a value is one of several shapes (a body, an assertion, a capture),
//! the type has one optional field per shape and exactly one must be set
//! (the `@oneOf` idea, checked by [`validate_spec`](super::validate::validate_spec)).

use async_graphql::{Enum, InputObject, SimpleObject};
use serde::{Deserialize, Serialize};

/// Arbitrary JSON inside a spec.
pub type JsonValue = async_graphql::Json<serde_json::Value>;

/// The spec of a case: exactly one field is set, and it decides the case's kind.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "CaseSpecInput")]
#[serde(rename_all = "camelCase")]
pub struct CaseSpec {
    /// An HTTP API check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpSpec>,
    /// A load test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perf: Option<PerfSpec>,
    /// A pytest script.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<ScriptSpec>,
    /// Browser UI steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ui: Option<UiSpec>,
}

/// The four kinds of case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CaseKind {
    /// An HTTP request with assertions.
    Http,
    /// A load test of one request.
    Perf,
    /// A pytest script.
    Script,
    /// Browser steps.
    Ui,
}

crate::stored_enum!(CaseKind {
    Http = "HTTP",
    Perf = "PERF",
    Script = "SCRIPT",
    Ui = "UI",
});

/// HTTP methods a case may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HttpMethod {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
    /// HEAD.
    Head,
    /// OPTIONS.
    Options,
}

/// A name and a value (query parameter, header, form field).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "KeyValueInput")]
pub struct KeyValue {
    /// The name.
    pub name: String,
    /// The value; `{{variable}}` placeholders are filled in at run time.
    pub value: String,
}

/// A request body: exactly one of `json`, `text`, `form`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "HttpBodyInput")]
pub struct HttpBody {
    /// A JSON document, sent as `application/json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<JsonValue>,
    /// Raw text, sent as is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Form fields, sent as `application/x-www-form-urlencoded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<Vec<KeyValue>>,
}

/// One HTTP request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "HttpRequestInput")]
#[serde(rename_all = "camelCase")]
pub struct HttpRequest {
    /// The method.
    pub method: HttpMethod,
    /// Absolute `http(s)://` URL, or one starting with a `{{variable}}`.
    pub url: String,
    /// Query parameters added to the URL.
    #[serde(default)]
    #[graphql(default)]
    pub query: Vec<KeyValue>,
    /// Request headers (added to the project's default headers).
    #[serde(default)]
    #[graphql(default)]
    pub headers: Vec<KeyValue>,
    /// The body, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<HttpBody>,
    /// Time limit for the whole exchange, in milliseconds (default 30000).
    #[serde(default = "default_timeout_ms")]
    #[graphql(default = 30000)]
    pub timeout_ms: i32,
    /// Whether redirects are followed (default true).
    #[serde(default = "default_true")]
    #[graphql(default = true)]
    pub follow_redirects: bool,
}

fn default_timeout_ms() -> i32 {
    30_000
}

fn default_true() -> bool {
    true
}

/// An HTTP API check: a request, values to capture, assertions on the response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "HttpSpecInput")]
pub struct HttpSpec {
    /// What to send.
    pub request: HttpRequest,
    /// Values taken from the response into variables for later cases of the run.
    #[serde(default)]
    #[graphql(default)]
    pub captures: Vec<Capture>,
    /// What the response must satisfy.
    #[serde(default)]
    #[graphql(default)]
    pub assertions: Vec<Assertion>,
}

/// A value taken from the response: exactly one of `jsonPath`, `header`, `regex`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "CaptureInput")]
#[serde(rename_all = "camelCase")]
pub struct Capture {
    /// Variable name, used later as `{{name}}`.
    pub variable: String,
    /// JSONPath into the response body, e.g. `$.data.id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_path: Option<String>,
    /// A response header's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// A regular expression over the body; the first group (or `group`) is taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// Which regex group to take (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<i32>,
}

/// One check of a response: exactly one field is set.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "AssertionInput")]
#[serde(rename_all = "camelCase")]
pub struct Assertion {
    /// On the status code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusAssertion>,
    /// On a response header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<HeaderAssertion>,
    /// On a value inside a JSON body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_path: Option<JsonPathAssertion>,
    /// On the raw body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<BodyAssertion>,
    /// Every keyword must appear in the body, case-insensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keywords: Option<KeywordsAssertion>,
    /// On the response time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_time: Option<ResponseTimeAssertion>,
    /// The body must validate against a JSON Schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_schema: Option<JsonSchemaAssertion>,
}

/// Status code: exactly one of `equals`, `oneOf`, or a `min`/`max` range.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "StatusAssertionInput")]
#[serde(rename_all = "camelCase")]
pub struct StatusAssertion {
    /// The exact code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<i32>,
    /// Any of these codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<i32>>,
    /// Lowest accepted code (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i32>,
    /// Highest accepted code (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i32>,
}

/// A header: `exists`, `equals` or `matches` (one of them).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "HeaderAssertionInput")]
pub struct HeaderAssertion {
    /// Header name, case-insensitive.
    pub name: String,
    /// True: must be present; false: must be absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
    /// Exact value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
    /// Regular expression the value must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<String>,
}

/// How a JSONPath value is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JsonPathOperator {
    /// The path matches something.
    Exists,
    /// The value equals `value`.
    Equals,
    /// The value differs from `value`.
    NotEquals,
    /// A string contains, or an array has an element equal to, `value`.
    Contains,
    /// A string matches the regular expression in `value`.
    Matches,
    /// A number greater than `value`.
    GreaterThan,
    /// A number less than `value`.
    LessThan,
    /// The number of matches (or array length) equals `value`.
    Count,
}

/// A value inside a JSON body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "JsonPathAssertionInput")]
pub struct JsonPathAssertion {
    /// JSONPath, e.g. `$.items[0].name`.
    pub path: String,
    /// The comparison.
    pub operator: JsonPathOperator,
    /// What to compare with (not needed for `EXISTS`; for `EQUALS` and `NOT_EQUALS`
    /// a missing value means JSON null).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<JsonValue>,
}

/// The raw body: `contains` or `matches` (one of them).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "BodyAssertionInput")]
pub struct BodyAssertion {
    /// A substring that must appear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
    /// A regular expression that must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<String>,
}

/// Keywords that must all appear in the body, case-insensitive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "KeywordsAssertionInput")]
pub struct KeywordsAssertion {
    /// The keywords.
    pub all: Vec<String>,
}

/// The response must arrive within a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "ResponseTimeAssertionInput")]
#[serde(rename_all = "camelCase")]
pub struct ResponseTimeAssertion {
    /// Upper bound in milliseconds (exclusive).
    pub below_ms: i32,
}

/// The body must validate against a JSON Schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "JsonSchemaAssertionInput")]
pub struct JsonSchemaAssertion {
    /// The schema document.
    pub schema: JsonValue,
}

/// A load test: one request under a load profile, judged by thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "PerfSpecInput")]
pub struct PerfSpec {
    /// The request each virtual user sends.
    pub request: HttpRequest,
    /// How much load, for how long.
    pub load: LoadProfile,
    /// What makes the test pass.
    #[serde(default)]
    #[graphql(default)]
    pub thresholds: Vec<PerfThreshold>,
}

/// Load: `virtualUsers` for `durationSeconds`, or a fixed `arrivalRate`; optional ramp stages.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "LoadProfileInput")]
#[serde(rename_all = "camelCase")]
pub struct LoadProfile {
    /// Concurrent virtual users, each sending requests back to back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_users: Option<i32>,
    /// Requests started per second, whatever the response times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrival_rate: Option<i32>,
    /// How long the load lasts (not counting stages).
    pub duration_seconds: i32,
    /// Ramp stages run before the steady load, each moving to a target level.
    #[serde(default)]
    #[graphql(default)]
    pub stages: Vec<RampStage>,
}

/// One ramp stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "RampStageInput")]
#[serde(rename_all = "camelCase")]
pub struct RampStage {
    /// Length of the stage.
    pub duration_seconds: i32,
    /// Users (or arrival rate) reached at the end of the stage.
    pub target: i32,
}

/// A pass condition: a latency percentile below a bound, or an error rate below a bound.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "PerfThresholdInput")]
#[serde(rename_all = "camelCase")]
pub struct PerfThreshold {
    /// Percentile (e.g. 95 or 99.9) whose latency must stay below `belowMs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentile: Option<f64>,
    /// Latency bound in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below_ms: Option<i32>,
    /// Highest accepted share of failed requests, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_error_rate_percent: Option<f64>,
}

/// A pytest script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "ScriptSpecInput")]
#[serde(rename_all = "camelCase")]
pub struct ScriptSpec {
    /// Source files; at least one `test_*.py`.
    pub files: Vec<ScriptFile>,
    /// Extra pip requirements, one per line (requirements.txt syntax).
    #[serde(default)]
    #[graphql(default)]
    pub requirements: String,
    /// Time limit for the whole script, in seconds (default 300).
    #[serde(default = "default_script_timeout")]
    #[graphql(default = 300)]
    pub timeout_seconds: i32,
}

fn default_script_timeout() -> i32 {
    300
}

/// One source file of a script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "ScriptFileInput")]
pub struct ScriptFile {
    /// Relative path, e.g. `test_login.py` or `pkg/helpers.py`.
    pub path: String,
    /// File content.
    pub content: String,
}

/// Browser steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "UiSpecInput")]
#[serde(rename_all = "camelCase")]
pub struct UiSpec {
    /// Steps, in order.
    pub steps: Vec<UiStep>,
    /// Time limit for all steps, in seconds (default 120).
    #[serde(default = "default_ui_timeout")]
    #[graphql(default = 120)]
    pub timeout_seconds: i32,
}

fn default_ui_timeout() -> i32 {
    120
}

/// What a browser step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UiAction {
    /// Open `url`.
    Open,
    /// Click `selector`.
    Click,
    /// Type `text` into `selector`.
    Type,
    /// Wait until `selector` appears.
    WaitForSelector,
    /// `selector` (or the page) must contain `text`.
    AssertText,
    /// `selector` must be visible.
    AssertVisible,
    /// Take a screenshot named `text` (optional).
    Screenshot,
}

/// One browser step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "UiStepInput")]
pub struct UiStep {
    /// What to do.
    pub action: UiAction,
    /// For `OPEN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// CSS selector, for the actions on an element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// Text to type or expect; the screenshot's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}
