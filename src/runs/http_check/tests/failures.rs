use super::*;
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
