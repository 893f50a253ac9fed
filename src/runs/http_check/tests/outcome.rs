use super::*;
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
