//! Bad requests get a coded error and change nothing: malformed GraphQL,
//! wrong variable types, oversize bodies, too deep or too complex queries,
//! and too many login attempts.

use serde_json::json;

use crate::backend_test;
use crate::support::{Backend, TestApp};

backend_test! {
    async fn malformed_requests_get_bad_user_input(backend: Backend) {
        let app = TestApp::start(backend).await;
        let syntax = app.graphql(None, "{ me { id ", json!({})).await;
        assert_eq!(syntax.code(), "BAD_USER_INPUT");
        let unknown_field = app.graphql(None, "{ nope }", json!({})).await;
        assert_eq!(unknown_field.code(), "BAD_USER_INPUT");
        let wrong_type = app
            .graphql(
                None,
                "mutation($input: LoginInput!) { login(input: $input) { accessToken } }",
                json!({ "input": { "login": 42, "password": ["x"] } }),
            )
            .await;
        assert_eq!(wrong_type.code(), "BAD_USER_INPUT");

        for body in ["{not json", "[]", "{\"variables\": {}}"] {
            let response = app
                .http()
                .post(app.url("/graphql"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let reply: serde_json::Value = response.json().await.unwrap();
            assert!(status == 400 || status == 200, "{body}: {status}");
            assert_eq!(reply["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}: {reply}");
        }
    }
}

backend_test! {
    async fn oversize_bodies_are_refused_with_413(backend: Backend) {
        let app = TestApp::builder(backend)
            .config(|config| config.limits.max_body_bytes = 2048)
            .start()
            .await;
        let padding = "x".repeat(4096);
        let query = format!("mutation {{ register(input: {{username: \"ada\", email: \"ada@example.com\", password: \"{padding}\"}}) {{ accessToken }} }}");
        let response = app
            .http()
            .post(app.url("/graphql"))
            .json(&json!({ "query": query }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 413);
        let reply: serde_json::Value = response.json().await.unwrap();
        assert_eq!(reply["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        // Nothing was written: the name is still free.
        app.register("ada").await;
        // The node still serves.
        assert_eq!(app.http().get(app.url("/health")).send().await.unwrap().status(), 200);
    }
}

backend_test! {
    async fn too_deep_and_too_complex_queries_are_refused(backend: Backend) {
        let app = TestApp::builder(backend)
            .config(|config| {
                config.limits.max_query_depth = 3;
                config.limits.max_query_complexity = 20;
            })
            .start()
            .await;
        let admin = app.register("root").await;
        let token = Some(admin.access_token.as_str());
        let shallow = app.graphql(token, "{ me { id } }", json!({})).await;
        shallow.ok();
        let deep = app
            .graphql(token, "{ users { edges { node { username } } } }", json!({}))
            .await;
        assert_eq!(deep.code(), "BAD_USER_INPUT");
        assert!(deep.0["errors"][0]["message"].as_str().unwrap().contains("nested too deep"));
        let wide = (0..25).map(|i| format!("a{i}: me {{ id }}")).collect::<Vec<_>>().join(" ");
        let complex = app.graphql(token, &format!("{{ {wide} }}"), json!({})).await;
        assert_eq!(complex.code(), "BAD_USER_INPUT");
        assert!(complex.0["errors"][0]["message"].as_str().unwrap().contains("too complex"));
    }
}

backend_test! {
    async fn login_is_rate_limited_per_name(backend: Backend) {
        let app = TestApp::builder(backend)
            .config(|config| config.auth.login_limit_per_name = 3)
            .start()
            .await;
        let name = format!("limited{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        app.register(&name).await;
        for _ in 0..3 {
            assert_eq!(app.login(&name, "wrong-password").await.code(), "UNAUTHENTICATED");
        }
        // A wrong password is refused now, with a hint when to retry (the right one still
        // gets in at a slow pace: see the throttling tests).
        let limited = app.login(&name.to_uppercase(), "wrong-password").await;
        assert_eq!(limited.code(), "RATE_LIMITED");
        let retry_after = limited.extension("retryAfter").as_u64().unwrap();
        assert!((1..=300).contains(&retry_after), "{retry_after}");
        // Other names are not affected.
        app.register("other").await;
        app.login("other", "other-password").await.ok();
    }
}

backend_test! {
    async fn login_is_rate_limited_per_address(backend: Backend) {
        let app = TestApp::builder(backend)
            .config(|config| {
                config.auth.login_limit_per_address = 4;
                // Keep this test's counters apart from other tests sharing Redis.
                config.redis_url = None;
            })
            .start()
            .await;
        for attempt in 0..4 {
            let reply = app.login(&format!("nobody{attempt}"), "whatever-pass").await;
            assert_eq!(reply.code(), "UNAUTHENTICATED");
        }
        assert_eq!(app.login("nobody-else", "whatever-pass").await.code(), "RATE_LIMITED");
    }
}
