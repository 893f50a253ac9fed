use super::*;
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
