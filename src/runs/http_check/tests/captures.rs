use super::*;
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
