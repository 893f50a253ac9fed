use super::*;
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
