//! GraphQL over HTTP as the spec and browsers expect it: the response media
//! type follows `Accept`, bodies that are not JSON are refused, GET runs
//! queries only, GraphiQL is served offline, and CORS admits configured origins.

use serde_json::{json, Value};

use crate::backend_test;
use crate::support::{Backend, TestApp};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// POSTs `query` accepting `accept`; returns status, content type and body.
async fn post_accepting(app: &TestApp, accept: &str, query: &str) -> (u16, String, Value) {
    let response = app
        .http()
        .post(app.url("/graphql"))
        .header("accept", accept)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (status, content_type, response.json().await.unwrap())
}

backend_test! {
    async fn the_accept_header_picks_media_type_and_status(backend: Backend) {
        let app = TestApp::start(backend).await;
        let (status, content_type, body) = post_accepting(&app, GRAPHQL_RESPONSE, "{ __typename }").await;
        assert_eq!((status, body["data"]["__typename"].as_str()), (200, Some("Query")));
        assert!(content_type.starts_with(GRAPHQL_RESPONSE), "{content_type}");

        // Requests that fail before execution: 400 and no `data` entry.
        for bad in ["{ __typename", "{ noSuchField }", "query($n: Int!) { __typename }"] {
            let (status, content_type, body) = post_accepting(&app, GRAPHQL_RESPONSE, bad).await;
            assert_eq!(status, 400, "{bad}: {body}");
            assert!(content_type.starts_with(GRAPHQL_RESPONSE));
            assert!(body.get("data").is_none(), "{bad}: {body}");
            assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        }
        // An execution error keeps `data` and 200.
        let (status, _, body) = post_accepting(&app, GRAPHQL_RESPONSE, "{ me { id } }").await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("data").is_some(), "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");

        // application/json clients keep 200 for every well-formed request.
        let (status, content_type, body) = post_accepting(&app, "application/json", "{ __typename").await;
        assert_eq!(status, 200);
        assert!(content_type.starts_with("application/json"));
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    }
}

backend_test! {
    async fn posts_without_a_json_content_type_get_415(backend: Backend) {
        let app = TestApp::start(backend).await;
        let register = json!({ "query": "mutation { register(input: {username: \"formy\", email: \"formy@example.com\", password: \"formy-password\"}) { accessToken } }" }).to_string();
        for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
            let mut request = app.http().post(app.url("/graphql")).body(register.clone());
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 415, "{content_type:?}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        }
        // Nothing ran: the name is still free.
        app.register("formy").await;
        // Multipart stays open for uploads.
        let form = reqwest::multipart::Form::new()
            .text("operations", json!({ "query": "{ __typename }" }).to_string())
            .text("map", "{}");
        let response = app.http().post(app.url("/graphql")).multipart(form).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
}

backend_test! {
    async fn get_runs_queries_and_refuses_mutations(backend: Backend) {
        let app = TestApp::start(backend).await;
        let get = |parameters: Vec<(&'static str, &'static str)>| {
            app.http().get(app.url("/graphql")).header("accept", "application/json").query(&parameters).send()
        };
        let response = get(vec![
            ("query", "query A { a: __typename } query B($name: String!) { __type(name: $name) { name } }"),
            ("operationName", "B"),
            ("variables", r#"{"name": "Query"}"#),
        ]).await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["data"]["__type"]["name"], "Query", "{body}");

        let mutation = get(vec![("query", "mutation { __typename }")]).await.unwrap();
        assert_eq!(mutation.status(), 405);
        assert_eq!(mutation.headers()["allow"], "POST");
        let named = get(vec![("query", "query Q { __typename } mutation M { __typename }"), ("operationName", "M")]).await.unwrap();
        assert_eq!(named.status(), 405);

        let missing = get(vec![]).await.unwrap();
        assert_eq!(missing.status(), 400);
        let bad_variables = get(vec![("query", "{ __typename }"), ("variables", "{oops")]).await.unwrap();
        assert_eq!(bad_variables.status(), 400);
    }
}

backend_test! {
    async fn graphiql_is_served_offline_for_browsers_only(backend: Backend) {
        let app = TestApp::start(backend).await;
        let page = app.http().get(app.url("/graphql")).header("accept", "text/html,*/*;q=0.8").send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let html = page.text().await.unwrap();
        assert!(!html.contains("http://") && !html.contains("https://"), "the page names no other host");
        let assets: Vec<&str> = html
            .split(['"', '\''])
            .filter(|piece| piece.starts_with("/graphiql/"))
            .collect();
        assert_eq!(assets.len(), 4, "{assets:?}");
        for asset in assets {
            let response = app.http().get(app.url(asset)).send().await.unwrap();
            assert_eq!(response.status(), 200, "{asset}");
            let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
            let expected = if asset.ends_with(".css") { "text/css" } else { "text/javascript" };
            assert!(content_type.starts_with(expected), "{asset}: {content_type}");
            assert!(response.bytes().await.unwrap().len() > 1_000, "{asset}");
        }
        assert_eq!(app.http().get(app.url("/graphiql/nope.js")).send().await.unwrap().status(), 404);
        // Without text/html, GET is a GraphQL request: no query, no page.
        let plain = app.http().get(app.url("/graphql")).send().await.unwrap();
        assert_eq!(plain.status(), 400);
    }
}

const FRONTEND: &str = "http://frontend.example:3000";

/// A preflight for a POST with a bearer token from `origin`.
async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.http()
        .request(reqwest::Method::OPTIONS, app.url("/graphql"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type, authorization",
        )
        .send()
        .await
        .unwrap()
}

backend_test! {
    async fn cors_admits_configured_origins(backend: Backend) {
        let app = TestApp::builder(backend)
            .config(|config| config.cors.cors_origins = vec![FRONTEND.to_owned()])
            .start()
            .await;
        let allowed = preflight(&app, FRONTEND).await;
        assert_eq!(allowed.status(), 200);
        assert_eq!(allowed.headers()["access-control-allow-origin"], FRONTEND);
        let methods = allowed.headers()["access-control-allow-methods"].to_str().unwrap().to_owned();
        assert!(methods.contains("POST"), "{methods}");
        let headers = allowed.headers()["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
        assert!(headers.contains("authorization") && headers.contains("content-type"), "{headers}");

        let cross = app.http().post(app.url("/graphql")).header("origin", FRONTEND)
            .json(&json!({ "query": "{ __typename }" })).send().await.unwrap();
        assert_eq!(cross.headers()["access-control-allow-origin"], FRONTEND);
        assert_eq!(cross.json::<Value>().await.unwrap()["data"]["__typename"], "Query");

        // Other origins get no grant; the node's own pages are not cross-origin.
        let stranger = preflight(&app, "http://elsewhere.example").await;
        assert!(stranger.headers().get("access-control-allow-origin").is_none());
        let own_origin = format!("http://{}", app.address);
        let own = app.http().post(app.url("/graphql")).header("origin", own_origin)
            .json(&json!({ "query": "{ __typename }" })).send().await.unwrap();
        assert_eq!(own.status(), 200);

        // REST paths are covered too.
        let rest = app.http().get(app.url("/health")).header("origin", FRONTEND).send().await.unwrap();
        assert_eq!(rest.headers()["access-control-allow-origin"], FRONTEND);
    }
}

backend_test! {
    async fn cors_is_off_by_default_and_star_admits_any_origin(backend: Backend) {
        let closed = TestApp::start(backend).await;
        let refused = preflight(&closed, FRONTEND).await;
        assert!(refused.headers().get("access-control-allow-origin").is_none());

        let open = TestApp::builder(backend)
            .config(|config| config.cors.cors_origins = vec!["*".to_owned()])
            .start()
            .await;
        let any = preflight(&open, "http://anywhere.example").await;
        assert_eq!(any.status(), 200);
        assert_eq!(any.headers()["access-control-allow-origin"], "http://anywhere.example");
    }
}
