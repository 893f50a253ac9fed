use super::*;
use crate::runs::target::{closed_port_url, TargetServer};
use serde_json::json;

/// Owns what a [`CaseContext`] borrows.
#[derive(Default)]
struct Ctx {
    variables: HashMap<String, String>,
    defaults: Vec<KeyValue>,
    secrets: Vec<String>,
}

impl Ctx {
    fn with_vars(pairs: &[(&str, &str)]) -> Self {
        Ctx {
            variables: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Ctx::default()
        }
    }

    fn ctx(&self) -> CaseContext<'_> {
        CaseContext {
            variables: &self.variables,
            default_headers: &self.defaults,
            secrets: &self.secrets,
        }
    }
}

fn spec(value: Value) -> HttpSpec {
    serde_json::from_value(value).expect("valid spec JSON")
}

fn get_spec(url: &str, assertions: Value) -> Value {
    json!({ "request": { "method": "GET", "url": url }, "assertions": assertions })
}

async fn run(value: Value) -> HttpCaseOutcome {
    run_with(&Ctx::default(), value).await
}

async fn run_with(ctx: &Ctx, value: Value) -> HttpCaseOutcome {
    run_case(&EgressPolicy::default(), ctx, value).await.outcome
}

async fn run_case(policy: &EgressPolicy, ctx: &Ctx, value: Value) -> HttpCaseRun {
    HttpRunner::new(Arc::new(policy.clone()))
        .run(&spec(value), &ctx.ctx())
        .await
}

fn kv(name: &str, value: &str) -> KeyValue {
    KeyValue {
        name: name.to_string(),
        value: value.to_string(),
    }
}

/// Runs `assertions` (each with the verdict it must get) against `url`, one case.
async fn expect_verdicts(url: &str, cases: &[(Value, bool)]) -> HttpCaseOutcome {
    let assertions: Vec<Value> = cases.iter().map(|(a, _)| a.clone()).collect();
    let outcome = run(get_spec(url, json!(assertions))).await;
    assert_eq!(outcome.error, None, "{outcome:#?}");
    assert_eq!(outcome.assertions.len(), cases.len());
    for ((assertion, want), got) in cases.iter().zip(&outcome.assertions) {
        assert_eq!(got.passed, *want, "{assertion} gave {got:#?}");
    }
    let all = cases.iter().all(|(_, want)| *want);
    let verdict = if all {
        CaseVerdict::Passed
    } else {
        CaseVerdict::Failed
    };
    assert_eq!(outcome.status, verdict);
    for (i, got) in outcome.assertions.iter().enumerate() {
        assert_eq!(got.index, i as i32);
    }
    outcome
}

fn error_kind(outcome: &HttpCaseOutcome) -> FailureKind {
    assert_eq!(outcome.status, CaseVerdict::Error, "{outcome:#?}");
    assert!(outcome.assertions.is_empty());
    assert!(outcome.captures.is_empty());
    outcome.error.as_ref().expect("error set").kind
}

/// The future can be spawned on a multi-threaded runtime.
#[allow(dead_code)]
fn run_future_is_send(runner: &HttpRunner, spec: &HttpSpec, ctx: &CaseContext<'_>) {
    fn assert_send<T: Send>(_: &T) {}
    assert_send(&runner.run(spec, ctx));
}

// ---------------------------------------------------------------- templating

#[test]
fn template_fills_placeholders() {
    let vars: HashMap<String, String> = [("host", "example.org"), ("id", "42"), ("a.b-c_1", "x")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(
        template("https://{{host}}/items/{{ id }}", &vars),
        Ok("https://example.org/items/42".to_string())
    );
    assert_eq!(template("{{a.b-c_1}}{{id}}", &vars), Ok("x42".to_string()));
    assert_eq!(
        template("no placeholders", &vars),
        Ok("no placeholders".to_string())
    );
    assert_eq!(
        template("{{missing}} and {{id}}", &vars),
        Err("missing".to_string())
    );
    // Not names: left as written.
    assert_eq!(
        template("{{}} {{a b}} {{", &vars),
        Ok("{{}} {{a b}} {{".to_string())
    );
    assert_eq!(template("{{{id}}}", &vars), Ok("{42}".to_string()));
    assert_eq!(
        template("{{1abc}} {{-x}}", &vars),
        Ok("{{1abc}} {{-x}}".to_string())
    );
    // Values are not templated again.
    let nested: HashMap<String, String> = [("a".to_string(), "{{b}}".to_string())].into();
    assert_eq!(template("{{a}}", &nested), Ok("{{b}}".to_string()));
}

#[test]
fn placeholders_in_order_without_repeats() {
    assert_eq!(
        placeholders("{{base}}/users/{{ id }}?t={{token}}&again={{id}}"),
        vec!["base", "id", "token"]
    );
    assert!(placeholders("plain {{ not a name }}").is_empty());
    let spec = spec(json!({
        "request": {
            "method": "POST",
            "url": "{{base}}/x",
            "query": [{ "name": "q", "value": "{{q}}" }],
            "headers": [
                { "name": "Authorization", "value": "Bearer {{token}}" },
                { "name": "X-{{hdr}}", "value": "1" }
            ],
            "body": { "json": { "a": ["{{one}}", { "{{key}}": "{{two}}" }], "n": 1 } }
        }
    }));
    assert_eq!(
        request_placeholders(&spec.request),
        vec!["base", "q", "token", "hdr", "one", "two"]
    );
}

#[test]
fn excerpts_cut_cleanly_and_mask_across_the_cut() {
    // A two-byte character straddling the cut is dropped, not shown as U+FFFD.
    let mut body = vec![b'a'; EXCERPT_BYTES - 1];
    body.extend_from_slice("é and more".as_bytes());
    let masker = Masker::new(&[]);
    let excerpt = masker.excerpt(&masker.unmasked_excerpt(&body));
    assert_eq!(excerpt.len(), EXCERPT_BYTES - 1);
    assert!(!excerpt.contains(char::REPLACEMENT_CHARACTER));
    // Invalid bytes inside are replaced.
    assert_eq!(
        masker.excerpt(&masker.unmasked_excerpt(b"ok\xffok")),
        "ok\u{FFFD}ok"
    );
    // A secret that starts before the cut is masked, not half shown.
    let masker = Masker::new(&["supersecret".to_string()]);
    let mut body = vec![b'a'; EXCERPT_BYTES - 5];
    body.extend_from_slice(b"supersecret tail");
    let excerpt = masker.excerpt(&masker.unmasked_excerpt(&body));
    assert!(
        !excerpt.contains("supe"),
        "{}",
        &excerpt[excerpt.len() - 10..]
    );
    assert!(excerpt.len() <= EXCERPT_BYTES);
}

#[test]
fn sensitive_header_names() {
    for name in [
        "Authorization",
        "cookie",
        "Set-Cookie",
        "X-API-Key",
        "X-Auth-Token",
        "client_secret",
        "X-Password",
        "Proxy-Authorization",
    ] {
        assert!(is_sensitive_header(name), "{name}");
    }
    for name in ["Content-Type", "Accept", "X-Request-Id", "Location"] {
        assert!(!is_sensitive_header(name), "{name}");
    }
}

// ---------------------------------------------------------------- assertions

#[tokio::test]
async fn status_assertions() {
    let target = TargetServer::start().await;
    let outcome = expect_verdicts(
        &target.url("/status/201"),
        &[
            (json!({ "status": { "equals": 201 } }), true),
            (json!({ "status": { "equals": 200 } }), false),
            (json!({ "status": { "oneOf": [200, 201] } }), true),
            (json!({ "status": { "oneOf": [404, 500] } }), false),
            (json!({ "status": { "min": 200, "max": 299 } }), true),
            (json!({ "status": { "min": 300, "max": 399 } }), false),
            (json!({ "status": { "min": 500 } }), false),
            (json!({ "status": { "max": 201 } }), true),
            (json!({ "status": {} }), false),
        ],
    )
    .await;
    let range = &outcome.assertions[4];
    assert_eq!(range.kind, "STATUS");
    assert_eq!(range.description, "status in 200..299");
    assert_eq!(range.actual, "201");
    assert_eq!(outcome.assertions[1].expected, "== 200");
    assert_eq!(outcome.response.as_ref().unwrap().status, 201);
}

#[tokio::test]
async fn all_passing_assertions_pass_the_case() {
    let target = TargetServer::start().await;
    let outcome = expect_verdicts(
        &target.url("/json"),
        &[
            (json!({ "status": { "equals": 200 } }), true),
            (json!({ "header": { "name": "Content-Type", "matches": "json" } }), true),
            (json!({ "jsonPath": { "path": "$.name", "operator": "EQUALS", "value": "Tidewatch" } }), true),
            (json!({ "responseTime": { "belowMs": 10000 } }), true),
        ],
    )
    .await;
    assert_eq!(outcome.status, CaseVerdict::Passed);
    let response = outcome.response.unwrap();
    assert!(response.body_excerpt.contains("Tidewatch"));
    assert!(response.body_bytes > 100);
}

#[tokio::test]
async fn header_assertions() {
    let target = TargetServer::start().await;
    let outcome = expect_verdicts(
        &target.url("/headers"),
        &[
            (
                json!({ "header": { "name": "X-Custom", "exists": true } }),
                true,
            ),
            (
                json!({ "header": { "name": "X-CUSTOM", "equals": "hello-world" } }),
                true,
            ),
            (
                json!({ "header": { "name": "x-custom", "equals": "nope" } }),
                false,
            ),
            (
                json!({ "header": { "name": "X-Request-Id", "matches": "^req-\\d+$" } }),
                true,
            ),
            (
                json!({ "header": { "name": "X-Request-Id", "matches": "^x" } }),
                false,
            ),
            (
                json!({ "header": { "name": "X-Missing", "exists": false } }),
                true,
            ),
            (
                json!({ "header": { "name": "X-Missing", "exists": true } }),
                false,
            ),
            (
                json!({ "header": { "name": "X-Missing", "equals": "x" } }),
                false,
            ),
            (
                json!({ "header": { "name": "X-Multi", "equals": "two" } }),
                true,
            ),
            (json!({ "header": { "name": "X-Custom" } }), true),
            (
                json!({ "header": { "name": "X-Custom", "matches": "(" } }),
                false,
            ),
            (
                json!({ "header": { "name": "Set-Cookie", "matches": "session=" } }),
                true,
            ),
        ],
    )
    .await;
    let a = &outcome.assertions;
    assert_eq!(a[0].kind, "HEADER");
    assert_eq!(a[2].description, "header x-custom equals \"nope\"");
    assert_eq!(a[2].actual, "hello-world");
    assert_eq!(a[6].actual, "absent");
    assert_eq!(a[8].actual, "one, two");
    assert!(
        a[10].actual.contains("invalid regular expression"),
        "{}",
        a[10].actual
    );
    // A sensitive header's value is not shown.
    assert_eq!(a[11].actual, MASK);
}

#[tokio::test]
async fn json_path_assertions() {
    let target = TargetServer::start().await;
    let jp = |path: &str, operator: &str, value: Option<Value>| {
        let mut a = json!({ "path": path, "operator": operator });
        if let Some(value) = value {
            a["value"] = value;
        }
        json!({ "jsonPath": a })
    };
    let outcome = expect_verdicts(
        &target.url("/json"),
        &[
            (jp("$.name", "EXISTS", None), true),                  // 0
            (jp("$.missing", "EXISTS", None), false),              // 1
            (jp("$.missing", "EXISTS", Some(json!(false))), true), // 2
            (jp("$.version", "EQUALS", Some(json!(3))), true),     // 3
            (jp("$.version", "EQUALS", Some(json!(3.0))), true),   // 4
            (
                jp("$.owner.address.city", "EQUALS", Some(json!("London"))),
                true,
            ),
            (
                jp("$.owner.address.city", "EQUALS", Some(json!("Paris"))),
                false,
            ), // 6
            (jp("$.nothing", "EQUALS", Some(json!(null))), true),
            (
                jp("$.tags", "EQUALS", Some(json!(["api", "ops", "test"]))),
                true,
            ),
            (jp("$.items[*].id", "EQUALS", Some(json!([1, 2, 3]))), true),
            (jp("$.name", "NOT_EQUALS", Some(json!("Other"))), true), // 10
            (jp("$.name", "NOT_EQUALS", Some(json!("Tidewatch"))), false),
            (jp("$.missing", "NOT_EQUALS", Some(json!(1))), false),
            (
                jp("$.owner.email", "CONTAINS", Some(json!("@example"))),
                true,
            ),
            (jp("$.tags", "CONTAINS", Some(json!("ops"))), true),
            (jp("$.tags", "CONTAINS", Some(json!("dev"))), false), // 15
            (jp("$.items[*].name", "CONTAINS", Some(json!("beta"))), true),
            (jp("$.version", "CONTAINS", Some(json!(3))), false),
            (
                jp(
                    "$.owner.email",
                    "MATCHES",
                    Some(json!("^[a-z]+@example\\.com$")),
                ),
                true,
            ),
            (jp("$.name", "MATCHES", Some(json!("^x"))), false),
            (jp("$.version", "MATCHES", Some(json!("3"))), false), // 20
            (jp("$.name", "MATCHES", Some(json!("("))), false),
            (
                jp("$.items[2].price", "GREATER_THAN", Some(json!(40))),
                true,
            ),
            (jp("$.ratio", "GREATER_THAN", Some(json!(1))), false),
            (jp("$.name", "GREATER_THAN", Some(json!(1))), false),
            (jp("$.ratio", "LESS_THAN", Some(json!(1))), true), // 25
            (jp("$.version", "LESS_THAN", Some(json!(3))), false),
            (jp("$.items", "COUNT", Some(json!(3))), true),
            (jp("$.items[*]", "COUNT", Some(json!(3))), true),
            (jp("$..price", "COUNT", Some(json!(3))), true),
            (jp("$.tags", "COUNT", Some(json!(2))), false), // 30
            (
                jp("$.items[?@.inStock == true]", "COUNT", Some(json!(2))),
                true,
            ),
            (jp("$.missing", "COUNT", Some(json!(0))), true),
            (jp("$.[", "EXISTS", None), false),
            (jp("$.name", "EQUALS", None), false),
            (jp("$.name", "NOT_EQUALS", None), true), // 35
            (jp("$.nothing", "NOT_EQUALS", None), false),
            (jp("$.name", "CONTAINS", None), false),
        ],
    )
    .await;
    let a = &outcome.assertions;
    assert_eq!(a[0].kind, "JSON_PATH");
    assert_eq!(a[6].description, "$.owner.address.city EQUALS \"Paris\"");
    assert_eq!(a[6].expected, "\"Paris\"");
    assert_eq!(a[6].actual, "\"London\"");
    assert_eq!(a[1].actual, "no match");
    assert!(a[20].actual.contains("not a string"), "{}", a[20].actual);
    assert!(a[21].actual.contains("invalid regular expression"));
    assert!(a[24].actual.contains("not a number"));
    assert_eq!(a[30].actual, "3");
    assert!(
        a[33].actual.contains("invalid JSONPath"),
        "{}",
        a[33].actual
    );
    assert_eq!(a[34].description, "$.name EQUALS null");
    assert!(a[37].expected.contains("needs one"), "{}", a[37].expected);
}

#[tokio::test]
async fn json_assertions_on_a_non_json_body_fail_clearly() {
    let target = TargetServer::start().await;
    let outcome = expect_verdicts(
        &target.url("/text"),
        &[
            (json!({ "status": { "equals": 200 } }), true),
            (
                json!({ "jsonPath": { "path": "$.a", "operator": "EXISTS" } }),
                false,
            ),
            (
                json!({ "jsonSchema": { "schema": { "type": "object" } } }),
                false,
            ),
        ],
    )
    .await;
    for a in &outcome.assertions[1..] {
        assert!(a.actual.starts_with("body is not JSON"), "{}", a.actual);
    }
}

#[tokio::test]
async fn body_assertions() {
    let target = TargetServer::start().await;
    let outcome = expect_verdicts(
        &target.url("/text"),
        &[
            (json!({ "body": { "contains": "Quick Brown" } }), true),
            (json!({ "body": { "contains": "quick brown" } }), false),
            (json!({ "body": { "matches": "Fox \\w+ the" } }), true),
            (json!({ "body": { "matches": "^Nope" } }), false),
            (
                json!({ "body": { "contains": "Tide", "matches": "(?m)^ÜBER" } }),
                true,
            ),
            (json!({ "body": { "matches": "[" } }), false),
            (json!({ "body": {} }), false),
        ],
    )
    .await;
    let a = &outcome.assertions;
    assert_eq!(a[0].kind, "BODY");
    assert_eq!(a[0].description, "body contains \"Quick Brown\"");
    assert_eq!(a[0].actual, "found");
    assert!(a[1].actual.starts_with("not found"), "{}", a[1].actual);
    assert_eq!(a[2].actual, "matched \"Fox watches the\"");
}

#[tokio::test]
async fn keyword_assertions() {
    let target = TargetServer::start().await;
    let outcome = expect_verdicts(
        &target.url("/text"),
        &[
            (
                json!({ "keywords": { "all": ["tidewatch", "QUICK brown", "über", "école"] } }),
                true,
            ),
            (
                json!({ "keywords": { "all": ["tidewatch", "missing-word", "absent"] } }),
                false,
            ),
            (json!({ "keywords": { "all": [] } }), true),
        ],
    )
    .await;
    let a = &outcome.assertions;
    assert_eq!(a[0].kind, "KEYWORDS");
    assert_eq!(a[0].actual, "all present");
    assert_eq!(a[1].actual, "missing [\"missing-word\", \"absent\"]");
}

#[tokio::test]
async fn response_time_assertions() {
    let target = TargetServer::start().await;
    let outcome = expect_verdicts(
        &target.url("/slow/300"),
        &[
            (json!({ "responseTime": { "belowMs": 100 } }), false),
            (json!({ "responseTime": { "belowMs": 10000 } }), true),
        ],
    )
    .await;
    assert!(outcome.duration_ms >= 300, "{}", outcome.duration_ms);
    let a = &outcome.assertions[0];
    assert_eq!(a.kind, "RESPONSE_TIME");
    assert_eq!(a.description, "response time < 100 ms");
    assert_eq!(a.actual, format!("{} ms", outcome.duration_ms));
}

#[tokio::test]
async fn json_schema_assertions() {
    let target = TargetServer::start().await;
    let good = json!({
        "type": "object",
        "required": ["name", "items"],
        "properties": {
            "name": { "type": "string" },
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "price"],
                    "properties": { "id": { "type": "integer" }, "price": { "type": "number" } }
                }
            }
        }
    });
    let bad = json!({
        "type": "object",
        "properties": { "name": { "type": "integer" }, "tags": { "maxItems": 1 } }
    });
    let outcome = expect_verdicts(
        &target.url("/json"),
        &[
            (json!({ "jsonSchema": { "schema": good } }), true),
            (json!({ "jsonSchema": { "schema": bad } }), false),
            (json!({ "jsonSchema": { "schema": { "type": 12 } } }), false),
            (
                json!({ "jsonSchema": { "schema": { "$ref": "https://example.com/s.json" } } }),
                false,
            ),
        ],
    )
    .await;
    let a = &outcome.assertions;
    assert_eq!(a[0].kind, "JSON_SCHEMA");
    assert_eq!(a[0].actual, "valid");
    assert!(a[1].actual.contains("at /name"), "{}", a[1].actual);
    assert!(a[1].actual.contains("at /tags"), "{}", a[1].actual);
    assert!(a[2].actual.starts_with("invalid schema"), "{}", a[2].actual);
    assert!(a[3].actual.starts_with("invalid schema"), "{}", a[3].actual);
}

#[tokio::test]
async fn malformed_assertions_fail_without_panicking() {
    let target = TargetServer::start().await;
    let outcome = expect_verdicts(
        &target.url("/json"),
        &[
            (json!({}), false),
            (
                json!({ "status": { "equals": 200 }, "body": { "contains": "x" } }),
                false,
            ),
            (json!({ "status": { "equals": 200 } }), true),
        ],
    )
    .await;
    assert_eq!(outcome.assertions[0].kind, "INVALID");
    assert_eq!(outcome.assertions[1].actual, "2 set");
}

// ---------------------------------------------------------------- failures

#[tokio::test]
async fn timeout_is_an_error() {
    let target = TargetServer::start().await;
    let started = Instant::now();
    let outcome = run(json!({
        "request": { "method": "GET", "url": target.url("/slow/3000"), "timeoutMs": 200 },
        "assertions": [{ "status": { "equals": 200 } }],
        "captures": [{ "variable": "x", "header": "content-type" }]
    }))
    .await;
    assert!(started.elapsed() < Duration::from_millis(2000));
    assert_eq!(error_kind(&outcome), FailureKind::Timeout);
    assert!(outcome.response.is_none());
    assert!(outcome.duration_ms >= 200 && outcome.duration_ms < 2000);
    assert!(outcome.error.unwrap().message.contains("200 ms"));
}

#[tokio::test]
async fn refused_connection_is_a_connect_error() {
    let outcome = run(get_spec(
        &format!("{}/json", closed_port_url()),
        json!([{ "status": { "equals": 200 } }]),
    ))
    .await;
    assert_eq!(error_kind(&outcome), FailureKind::Connect, "{outcome:#?}");
}

#[tokio::test]
async fn dropped_connection_is_an_error() {
    let target = TargetServer::start().await;
    let outcome = run(get_spec(
        &target.drop_url,
        json!([{ "status": { "equals": 200 } }]),
    ))
    .await;
    assert_eq!(error_kind(&outcome), FailureKind::Other, "{outcome:#?}");
    assert!(outcome.response.is_none());
}

#[tokio::test]
async fn truncated_body_is_a_response_body_error() {
    let target = TargetServer::start().await;
    let outcome = run(get_spec(
        &target.truncated_url,
        json!([{ "status": { "equals": 200 } }]),
    ))
    .await;
    assert_eq!(
        error_kind(&outcome),
        FailureKind::ResponseBody,
        "{outcome:#?}"
    );
    let response = outcome.response.expect("partial response recorded");
    assert_eq!(response.status, 200);
}

#[tokio::test]
async fn oversized_body_is_a_response_body_error() {
    let target = TargetServer::start().await;
    let outcome = run(get_spec(
        &target.url(&format!("/bytes/{}", MAX_BODY_BYTES + 1)),
        json!([]),
    ))
    .await;
    assert_eq!(error_kind(&outcome), FailureKind::ResponseBody);
    assert!(outcome.error.unwrap().message.contains("limit"));
    // Just under the limit is fine, and only the excerpt is kept.
    let outcome = run(get_spec(&target.url("/bytes/10000"), json!([]))).await;
    assert_eq!(outcome.status, CaseVerdict::Passed);
    let response = outcome.response.unwrap();
    assert_eq!(response.body_bytes, 10000);
    assert_eq!(response.body_excerpt.len(), EXCERPT_BYTES);
}

#[tokio::test]
async fn undefined_variable_is_an_invalid_request() {
    let ctx = Ctx::with_vars(&[("base", "http://127.0.0.1:9")]);
    let outcome = run_with(
        &ctx,
        json!({
            "request": {
                "method": "GET",
                "url": "{{base}}/json",
                "headers": [{ "name": "X-Id", "value": "{{userId}}" }]
            }
        }),
    )
    .await;
    assert_eq!(error_kind(&outcome), FailureKind::InvalidRequest);
    assert_eq!(
        outcome.error.unwrap().message,
        "undefined variable {{userId}}"
    );
    // The recorded request is the spec's own text.
    assert_eq!(outcome.request.url, "{{base}}/json");
    assert_eq!(outcome.request.headers, vec![kv("X-Id", "{{userId}}")]);
}

#[tokio::test]
async fn malformed_requests_are_invalid() {
    for url in [
        "not a url",
        "ftp://example.org/file",
        "http://",
        "/relative/path",
    ] {
        let outcome = run(get_spec(url, json!([]))).await;
        assert_eq!(error_kind(&outcome), FailureKind::InvalidRequest, "{url}");
    }
    let outcome = run(json!({
        "request": { "method": "GET", "url": "http://127.0.0.1:9/",
                     "headers": [{ "name": "Bad Name", "value": "x" }] }
    }))
    .await;
    assert_eq!(error_kind(&outcome), FailureKind::InvalidRequest);
    let outcome = run(json!({
        "request": { "method": "POST", "url": "http://127.0.0.1:9/",
                     "body": { "text": "a", "json": { "b": 1 } } }
    }))
    .await;
    assert_eq!(error_kind(&outcome), FailureKind::InvalidRequest);
    let outcome = run(json!({
        "request": { "method": "GET", "url": "http://127.0.0.1:9/", "timeoutMs": 0 }
    }))
    .await;
    assert_eq!(error_kind(&outcome), FailureKind::InvalidRequest);
}

#[tokio::test]
async fn unknown_host_is_a_dns_error() {
    let outcome = run(get_spec("http://tidewatch-check.invalid/json", json!([]))).await;
    assert_eq!(error_kind(&outcome), FailureKind::Dns, "{outcome:#?}");
}

#[tokio::test]
async fn tls_to_a_plain_server_is_a_tls_error() {
    let target = TargetServer::start().await;
    let url = target.url("/json").replace("http://", "https://");
    let outcome = run(get_spec(&url, json!([]))).await;
    assert_eq!(error_kind(&outcome), FailureKind::Tls, "{outcome:#?}");
}

// ---------------------------------------------------------------- redirects

#[tokio::test]
async fn redirects_followed_or_not() {
    let target = TargetServer::start().await;
    let followed = expect_verdicts(
        &target.url("/redirect"),
        &[
            (json!({ "status": { "equals": 200 } }), true),
            (json!({ "jsonPath": { "path": "$.name", "operator": "EQUALS", "value": "Tidewatch" } }), true),
        ],
    )
    .await;
    assert_eq!(followed.response.unwrap().status, 200);

    let outcome = run(json!({
        "request": { "method": "GET", "url": target.url("/redirect"), "followRedirects": false },
        "assertions": [
            { "status": { "equals": 302 } },
            { "header": { "name": "Location", "equals": "/json" } }
        ]
    }))
    .await;
    assert_eq!(outcome.status, CaseVerdict::Passed, "{outcome:#?}");

    let outcome = run(get_spec(&target.url("/redirect-loop"), json!([]))).await;
    assert_eq!(error_kind(&outcome), FailureKind::Other);
    assert!(outcome.error.unwrap().message.contains("redirect"));
}

// ---------------------------------------------------------------- requests

#[tokio::test]
async fn request_templating_query_headers_and_json_body() {
    let target = TargetServer::start().await;
    let mut ctx = Ctx::with_vars(&[
        ("base", &target.base_url),
        ("user", "ada"),
        ("trace", "t-1"),
        ("suffix", "Extra"),
    ]);
    ctx.defaults = vec![kv("X-Env", "staging"), kv("X-Trace", "default")];
    let outcome = run_with(
        &ctx,
        json!({
            "request": {
                "method": "POST",
                "url": "{{base}}/echo",
                "query": [{ "name": "q", "value": "a b&c=d" }, { "name": "user", "value": "{{user}}" }],
                "headers": [
                    { "name": "X-Trace", "value": "{{trace}}" },
                    { "name": "X-{{suffix}}", "value": "yes" }
                ],
                "body": { "json": { "user": "{{user}}", "nested": { "list": ["{{trace}}", 5] } } }
            },
            "assertions": [
                { "jsonPath": { "path": "$.method", "operator": "EQUALS", "value": "POST" } },
                { "jsonPath": { "path": "$.query.q", "operator": "EQUALS", "value": "a b&c=d" } },
                { "jsonPath": { "path": "$.query.user", "operator": "EQUALS", "value": "ada" } },
                { "jsonPath": { "path": "$.json.user", "operator": "EQUALS", "value": "ada" } },
                { "jsonPath": { "path": "$.json.nested.list", "operator": "EQUALS", "value": ["t-1", 5] } },
                { "jsonPath": { "path": "$.headers['content-type']", "operator": "EQUALS", "value": "application/json" } },
                { "jsonPath": { "path": "$.headers['x-env']", "operator": "EQUALS", "value": "staging" } },
                { "jsonPath": { "path": "$.headers['x-trace']", "operator": "EQUALS", "value": "t-1" } },
                { "jsonPath": { "path": "$.headers['x-extra']", "operator": "EQUALS", "value": "yes" } }
            ]
        }),
    )
    .await;
    assert_eq!(outcome.status, CaseVerdict::Passed, "{outcome:#?}");
    let request = &outcome.request;
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.url,
        format!("{}/echo?q=a+b%26c%3Dd&user=ada", target.base_url)
    );
    assert_eq!(
        request.headers,
        vec![
            kv("X-Env", "staging"),
            kv("X-Trace", "t-1"),
            kv("X-Extra", "yes"),
            kv("content-type", "application/json")
        ]
    );
    assert_eq!(
        request.body_excerpt.as_deref(),
        Some(r#"{"nested":{"list":["t-1",5]},"user":"ada"}"#)
    );
}

#[tokio::test]
async fn form_and_text_bodies() {
    let target = TargetServer::start().await;
    let ctx = Ctx::with_vars(&[("user", "ada lovelace")]);
    let outcome = run_with(
        &ctx,
        json!({
            "request": {
                "method": "PUT",
                "url": target.url("/echo"),
                "body": { "form": [{ "name": "a", "value": "1" }, { "name": "who", "value": "{{user}}" }] }
            },
            "assertions": [
                { "jsonPath": { "path": "$.method", "operator": "EQUALS", "value": "PUT" } },
                { "jsonPath": { "path": "$.body", "operator": "EQUALS", "value": "a=1&who=ada+lovelace" } },
                { "jsonPath": { "path": "$.headers['content-type']", "operator": "EQUALS",
                                "value": "application/x-www-form-urlencoded" } }
            ]
        }),
    )
    .await;
    assert_eq!(outcome.status, CaseVerdict::Passed, "{outcome:#?}");

    let outcome = run_with(
        &ctx,
        json!({
            "request": {
                "method": "PATCH",
                "url": target.url("/echo"),
                "headers": [{ "name": "Content-Type", "value": "text/plain" }],
                "body": { "text": "hello {{user}}" }
            },
            "assertions": [
                { "jsonPath": { "path": "$.body", "operator": "EQUALS", "value": "hello ada lovelace" } },
                { "jsonPath": { "path": "$.headers['content-type']", "operator": "EQUALS", "value": "text/plain" } }
            ]
        }),
    )
    .await;
    assert_eq!(outcome.status, CaseVerdict::Passed, "{outcome:#?}");

    // A case's own Content-Type wins over the JSON default, and is sent once.
    let outcome = run(json!({
        "request": {
            "method": "POST",
            "url": target.url("/echo"),
            "headers": [{ "name": "content-type", "value": "application/vnd.api+json" }],
            "body": { "json": { "a": 1 } }
        },
        "assertions": [
            { "jsonPath": { "path": "$.headers['content-type']", "operator": "EQUALS",
                            "value": "application/vnd.api+json" } }
        ]
    }))
    .await;
    assert_eq!(outcome.status, CaseVerdict::Passed, "{outcome:#?}");
    assert_eq!(outcome.request.headers.len(), 1);
}

#[tokio::test]
async fn head_request_has_no_body() {
    let target = TargetServer::start().await;
    let outcome = run(json!({
        "request": { "method": "HEAD", "url": target.url("/json") },
        "assertions": [{ "status": { "equals": 200 } }]
    }))
    .await;
    assert_eq!(outcome.status, CaseVerdict::Passed, "{outcome:#?}");
    assert_eq!(outcome.response.unwrap().body_bytes, 0);
}

// ---------------------------------------------------------------- captures

#[tokio::test]
async fn captures_feed_later_cases() {
    let target = TargetServer::start().await;
    let outcome = run(json!({
        "request": { "method": "GET", "url": target.url("/token") },
        "captures": [
            { "variable": "token", "jsonPath": "$.token" },
            { "variable": "expires", "jsonPath": "$.expiresIn" },
            { "variable": "contentType", "header": "Content-Type" },
            { "variable": "fromRegex", "regex": "\"token\":\"([^\"]+)\"" },
            { "variable": "wholeMatch", "regex": "tw-\\d+" },
            { "variable": "groupZero", "regex": "\"(expires)In\"", "group": 0 },
            { "variable": "missingPath", "jsonPath": "$.nope" },
            { "variable": "missingHeader", "header": "X-Nope" },
            { "variable": "missingRegex", "regex": "zzz(\\d+)" },
            { "variable": "badGroup", "regex": "(tw)", "group": 5 }
        ],
        "assertions": [{ "status": { "equals": 200 } }]
    }))
    .await;
    assert_eq!(outcome.status, CaseVerdict::Passed, "{outcome:#?}");
    let token = target.token.clone();
    let prefix = token.rsplit_once('-').unwrap().0.to_string();
    assert_eq!(
        outcome.captures,
        vec![
            kv("token", &token),
            kv("expires", "3600"),
            kv("contentType", "application/json; charset=utf-8"),
            kv("fromRegex", &token),
            kv("wholeMatch", &prefix),
            kv("groupZero", "\"expiresIn\""),
        ]
    );

    // Without the token: 401. With the captured one: 200.
    let needs = json!({
        "request": {
            "method": "GET",
            "url": target.url("/needs-token"),
            "headers": [{ "name": "Authorization", "value": "Bearer {{token}}" }]
        },
        "assertions": [{ "status": { "equals": 200 } }]
    });
    let wrong = Ctx::with_vars(&[("token", "wrong")]);
    assert_eq!(
        run_with(&wrong, needs.clone()).await.status,
        CaseVerdict::Failed
    );
    let mut right = Ctx::default();
    for capture in &outcome.captures {
        right
            .variables
            .insert(capture.name.clone(), capture.value.clone());
    }
    assert_eq!(run_with(&right, needs).await.status, CaseVerdict::Passed);
}

#[tokio::test]
async fn captures_of_structured_values_are_compact_json() {
    let target = TargetServer::start().await;
    let outcome = run(json!({
        "request": { "method": "GET", "url": target.url("/json") },
        "captures": [
            { "variable": "address", "jsonPath": "$.owner.address" },
            { "variable": "firstId", "jsonPath": "$.items[*].id" },
            { "variable": "nothing", "jsonPath": "$.nothing" }
        ],
        "assertions": [{ "status": { "equals": 500 } }]
    }))
    .await;
    // Captures are taken even when an assertion fails.
    assert_eq!(outcome.status, CaseVerdict::Failed);
    assert_eq!(
        outcome.captures,
        vec![
            kv("address", r#"{"city":"London","zip":"W1"}"#),
            kv("firstId", "1"),
            kv("nothing", "null"),
        ]
    );
}

// ---------------------------------------------------------------- masking

#[tokio::test]
async fn secrets_are_masked_in_request_response_and_details() {
    let target = TargetServer::start().await;
    let secret = "s3cr3t-Value";
    let mut ctx = Ctx::with_vars(&[("apiKey", secret)]);
    ctx.secrets = vec![secret.to_string()];
    ctx.defaults = vec![kv("X-Api-Key", "default-key-value")];
    let run = run_case(
        &EgressPolicy::default(),
        &ctx,
        json!({
            "request": {
                "method": "POST",
                "url": target.url("/echo"),
                "query": [{ "name": "key", "value": "{{apiKey}}" }],
                "headers": [
                    { "name": "Authorization", "value": "Bearer {{apiKey}}" },
                    { "name": "X-Plain", "value": "prefix-{{apiKey}}" },
                    { "name": "X-Session-Token", "value": "not-listed-but-sensitive" },
                    { "name": "X-Visible", "value": "visible" }
                ],
                "body": { "json": { "password": "{{apiKey}}", "user": "ada" } }
            },
            "assertions": [
                { "jsonPath": { "path": "$.json.password", "operator": "EQUALS", "value": secret } },
                { "jsonPath": { "path": "$.headers['x-plain']", "operator": "EQUALS", "value": "nope" } }
            ],
            "captures": [{ "variable": "echoed", "jsonPath": "$.json.password" }]
        }),
    )
    .await;
    let outcome = run.outcome;
    assert_eq!(outcome.status, CaseVerdict::Failed, "{outcome:#?}");
    // The real secret was sent: the echo judged equal to it.
    assert!(outcome.assertions[0].passed);
    // The captured echo is recorded masked; its real value comes back beside it.
    assert_eq!(outcome.captures, vec![kv("echoed", MASK)]);
    assert_eq!(run.captured, vec![kv("echoed", secret)]);
    let stored = serde_json::to_string(&outcome).unwrap();
    assert!(!stored.contains(secret), "{stored}");
    assert!(!stored.contains("not-listed-but-sensitive"));
    assert!(!stored.contains("default-key-value"));

    let request = &outcome.request;
    assert_eq!(request.url, format!("{}/echo?key=***", target.base_url));
    assert_eq!(
        request.headers,
        vec![
            kv("X-Api-Key", MASK),
            kv("Authorization", MASK),
            kv("X-Plain", "prefix-***"),
            kv("X-Session-Token", MASK),
            kv("X-Visible", "visible"),
            kv("content-type", "application/json"),
        ]
    );
    assert_eq!(
        request.body_excerpt.as_deref(),
        Some(r#"{"password":"***","user":"ada"}"#)
    );
    let response = outcome.response.as_ref().unwrap();
    assert!(response.body_excerpt.contains("prefix-***"));
    assert!(response.body_excerpt.contains("\"visible\""));
    assert_eq!(outcome.assertions[0].expected, "\"***\"");
    assert_eq!(outcome.assertions[1].actual, "\"prefix-***\"");
}

#[tokio::test]
async fn secrets_are_masked_in_response_headers_and_errors() {
    let target = TargetServer::start().await;
    let secret = "p@ss word/1";
    let mut ctx = Ctx::with_vars(&[("pw", secret)]);
    ctx.secrets = vec![secret.to_string()];
    let outcome = run_with(
        &ctx,
        json!({
            "request": {
                "method": "GET",
                "url": target.url("/headers"),
                "query": [{ "name": "x-leak", "value": "{{pw}}" }]
            },
            "assertions": [{ "header": { "name": "x-leak", "equals": secret } }]
        }),
    )
    .await;
    assert_eq!(outcome.status, CaseVerdict::Passed, "{outcome:#?}");
    let stored = serde_json::to_string(&outcome).unwrap();
    assert!(!stored.contains(secret), "{stored}");
    assert!(!stored.contains("p%40ss+word%2F1"), "{stored}");
    let response = outcome.response.unwrap();
    assert!(response.headers.contains(&kv("x-leak", MASK)));
    assert!(response.headers.contains(&kv("set-cookie", MASK)));
    assert!(response.headers.contains(&kv("x-custom", "hello-world")));

    // An error message quoting the URL does not leak the secret either.
    let outcome = run_with(
        &ctx,
        json!({
            "request": {
                "method": "GET",
                "url": format!("{}/x", closed_port_url()),
                "query": [{ "name": "pw", "value": "{{pw}}" }]
            }
        }),
    )
    .await;
    assert_eq!(error_kind(&outcome), FailureKind::Connect);
    let stored = serde_json::to_string(&outcome).unwrap();
    assert!(
        !stored.contains("p%40ss+word%2F1") && !stored.contains(secret),
        "{stored}"
    );
}

#[tokio::test]
async fn echoed_secrets_are_masked_in_captures_and_kept_for_later_cases() {
    let target = TargetServer::start().await;
    let secret = target.token.clone();
    let mut ctx = Ctx::with_vars(&[("token", &secret)]);
    ctx.secrets = vec![secret.clone()];
    let run = run_case(
        &EgressPolicy::default(),
        &ctx,
        json!({
            "request": {
                "method": "GET",
                "url": target.url("/echo"),
                "headers": [{ "name": "X-Echo", "value": "{{token}}" }],
                "query": [{ "name": "note", "value": "token {{token}} sent" }]
            },
            "captures": [
                { "variable": "echoed", "jsonPath": "$.headers['x-echo']" },
                { "variable": "sentence", "jsonPath": "$.query.note" },
                { "variable": "path", "jsonPath": "$.path" }
            ],
            "assertions": [{ "status": { "equals": 200 } }]
        }),
    )
    .await;
    assert_eq!(
        run.outcome.status,
        CaseVerdict::Passed,
        "{:#?}",
        run.outcome
    );
    // Equal to a secret or containing one: masked where recorded; other captures as they are.
    assert_eq!(
        run.outcome.captures,
        vec![
            kv("echoed", MASK),
            kv("sentence", "token *** sent"),
            kv("path", "/echo")
        ]
    );
    let recorded = serde_json::to_string(&run.outcome).unwrap();
    assert!(!recorded.contains(&secret), "{recorded}");
    assert_eq!(
        run.masked_captures(),
        vec![
            kv("echoed", &secret),
            kv("sentence", &format!("token {secret} sent"))
        ]
    );

    // A later case gets the real value: the target accepts it.
    let mut later = Ctx {
        secrets: ctx.secrets.clone(),
        ..Ctx::default()
    };
    for capture in &run.captured {
        later
            .variables
            .insert(capture.name.clone(), capture.value.clone());
    }
    let outcome = run_with(
        &later,
        json!({
            "request": {
                "method": "GET",
                "url": target.url("/needs-token"),
                "query": [{ "name": "t", "value": "{{echoed}}" }],
                "headers": [{ "name": "Authorization", "value": "Bearer {{echoed}}" }]
            },
            "assertions": [{ "status": { "equals": 200 } }]
        }),
    )
    .await;
    assert_eq!(outcome.status, CaseVerdict::Passed, "{outcome:#?}");
    assert!(
        outcome.request.url.ends_with("?t=***"),
        "{}",
        outcome.request.url
    );
}

// ---------------------------------------------------------------- egress

fn deny(list: &str) -> EgressPolicy {
    EgressPolicy::new(
        crate::egress::CidrList::parse(list).unwrap(),
        crate::egress::CidrList::default(),
    )
}

fn egress_error(outcome: &HttpCaseOutcome) -> String {
    assert_eq!(
        error_kind(outcome),
        FailureKind::EgressDenied,
        "{outcome:#?}"
    );
    assert!(outcome.response.is_none());
    outcome.error.as_ref().unwrap().message.clone()
}

#[tokio::test]
async fn refused_addresses_are_egress_errors() {
    let target = TargetServer::start().await;
    let loopback = deny("127.0.0.0/8,::1/128");
    let ctx = Ctx::default();
    let literal = run_case(&loopback, &ctx, get_spec(&target.url("/json"), json!([]))).await;
    let message = egress_error(&literal.outcome);
    assert!(
        message.contains("127.0.0.1") && message.contains("TIDEWATCH_EGRESS_DENY"),
        "{message}"
    );
    // A name is checked on the addresses it resolves to.
    let port = target.base_url.rsplit(':').next().unwrap();
    let named = run_case(
        &loopback,
        &ctx,
        get_spec(&format!("http://localhost:{port}/json"), json!([])),
    )
    .await;
    egress_error(&named.outcome);
    // The same target is reached under the default policy.
    let allowed = run_case(
        &EgressPolicy::default(),
        &ctx,
        get_spec(
            &target.url("/json"),
            json!([{ "status": { "equals": 200 } }]),
        ),
    )
    .await;
    assert_eq!(allowed.outcome.status, CaseVerdict::Passed);
}

#[tokio::test]
async fn the_default_policy_refuses_cloud_metadata() {
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://100.100.100.200/latest/meta-data/",
    ] {
        let outcome = run(get_spec(url, json!([]))).await;
        let message = egress_error(&outcome);
        assert!(message.contains("the egress policy refuses"), "{message}");
    }
}

#[tokio::test]
async fn redirect_hops_are_checked() {
    let target = TargetServer::start().await;
    let to_metadata = format!(
        "{}?url=http%3A%2F%2F169.254.169.254%2Flatest%2Fmeta-data%2F",
        target.url("/redirect-to")
    );
    let outcome = run(get_spec(&to_metadata, json!([]))).await;
    let message = egress_error(&outcome);
    assert!(message.contains("169.254.169.254"), "{message}");
    // Not following redirects, the case sees the redirect itself.
    let outcome = run(json!({
        "request": { "method": "GET", "url": to_metadata, "followRedirects": false },
        "assertions": [{ "status": { "equals": 302 } }]
    }))
    .await;
    assert_eq!(outcome.status, CaseVerdict::Passed, "{outcome:#?}");
    // A hop to a permitted address is followed.
    let to_json = format!(
        "{}?url={}",
        target.url("/redirect-to"),
        url::form_urlencoded::byte_serialize(target.url("/json").as_bytes()).collect::<String>()
    );
    let outcome = run(get_spec(&to_json, json!([{ "status": { "equals": 200 } }]))).await;
    assert_eq!(outcome.status, CaseVerdict::Passed, "{outcome:#?}");
}

// ---------------------------------------------------------------- cancellation

#[tokio::test]
async fn dropping_the_future_aborts_the_request() {
    let target = TargetServer::start().await;
    let runner = HttpRunner::new(Arc::new(EgressPolicy::default()));
    let ctx = Ctx::default();

    let slow = spec(get_spec(&target.url("/slow/5000"), json!([])));
    let started = Instant::now();
    let result =
        tokio::time::timeout(Duration::from_millis(200), runner.run(&slow, &ctx.ctx())).await;
    assert!(result.is_err(), "the case should still be running");
    assert!(started.elapsed() < Duration::from_millis(1000));

    // Cancelled from a select!: the server sees the connection close.
    let hang = spec(get_spec(&target.hang_url, json!([])));
    let case_ctx = ctx.ctx();
    let started = Instant::now();
    tokio::select! {
        _ = runner.run(&hang, &case_ctx) => panic!("the hang server never answers"),
        _ = tokio::time::sleep(Duration::from_millis(200)) => {}
    }
    assert!(started.elapsed() < Duration::from_millis(1000));
    let deadline = Instant::now() + Duration::from_secs(3);
    while target.hang_closed() == 0 {
        assert!(
            Instant::now() < deadline,
            "the server never saw the connection close"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---------------------------------------------------------------- shapes

#[tokio::test]
async fn outcome_serializes_in_camel_case_and_serves_over_graphql() {
    let target = TargetServer::start().await;
    let outcome = run(json!({
        "request": { "method": "GET", "url": target.url("/json") },
        "assertions": [{ "status": { "min": 200, "max": 299 } }],
        "captures": [{ "variable": "name", "jsonPath": "$.name" }]
    }))
    .await;
    let value = serde_json::to_value(&outcome).unwrap();
    assert_eq!(value["status"], "PASSED");
    assert!(value["durationMs"].is_i64());
    assert!(value["response"]["bodyExcerpt"].is_string());
    assert!(value["response"]["bodyBytes"].is_i64());
    assert_eq!(value["assertions"][0]["kind"], "STATUS");
    assert_eq!(value["error"], Value::Null);
    let back: HttpCaseOutcome = serde_json::from_value(value).unwrap();
    assert_eq!(back, outcome);

    let failed = run(json!({ "request": { "method": "GET", "url": "{{x}}" } })).await;
    let value = serde_json::to_value(&failed).unwrap();
    assert_eq!(value["error"]["kind"], "INVALID_REQUEST");
    assert_eq!(value["status"], "ERROR");

    struct Query(HttpCaseOutcome);
    #[async_graphql::Object]
    impl Query {
        async fn outcome(&self) -> &HttpCaseOutcome {
            &self.0
        }
    }
    let schema = async_graphql::Schema::new(
        Query(outcome),
        async_graphql::EmptyMutation,
        async_graphql::EmptySubscription,
    );
    let response = schema
        .execute(
            "{ outcome { status durationMs request { method url headers { name value } bodyExcerpt }
               response { status bodyBytes bodyExcerpt headers { name } }
               assertions { index kind description expected actual passed }
               captures { name value } error { kind message } } }",
        )
        .await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let data = response.data.into_json().unwrap();
    assert_eq!(data["outcome"]["status"], "PASSED");
    assert_eq!(
        data["outcome"]["assertions"][0]["description"],
        "status in 200..299"
    );
    assert_eq!(data["outcome"]["captures"][0]["value"], "Tidewatch");
}
