use super::*;
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
