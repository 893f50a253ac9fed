//! Bad requests get a coded error and change nothing: malformed GraphQL,
//! wrong variable types, oversize bodies, too deep or too complex queries,
//! deeply nested documents over every transport, oversize and too heavy
//! batches, and too many login attempts.

use serde_json::json;

use crate::backend_test;
use crate::support::websocket::Protocol;
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
            .graphql(token, "{ users(first: 1) { edges { node { username } } } }", json!({}))
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

/// `{ __typename(x: [[[…]]]) }` with `levels` of one bracket kind.
fn deeply_nested(open: char, close: char, levels: usize) -> String {
    format!(
        "{{ __typename(x: {}{}) }}",
        open.to_string().repeat(levels),
        close.to_string().repeat(levels)
    )
}

const DEEP: usize = 100_000;
const BRACKETS: [(char, char); 3] = [('[', ']'), ('{', '}'), ('(', ')')];

backend_test! {
    async fn deeply_nested_documents_are_refused_before_parsing(backend: Backend) {
        let app = TestApp::start(backend).await;
        for (open, close) in BRACKETS {
            let query = deeply_nested(open, close, DEEP);
            let posted = app.graphql(None, &query, json!({})).await;
            assert_eq!(posted.code(), "BAD_USER_INPUT", "{open}");
            assert_eq!(posted.extension("field"), "query");

            let batch = json!([{ "query": "{ __typename }" }, { "query": query }]);
            let batched: Vec<serde_json::Value> = app.http().post(app.url("/graphql"))
                .json(&batch).send().await.unwrap().json().await.unwrap();
            assert_eq!(batched[0]["data"]["__typename"], "Query");
            assert_eq!(batched[1]["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

            // URLs are bounded by the server's header size; 10,000 levels is still six
            // times what overflowed the parser.
            let by_get = app.http().get(app.url("/graphql"))
                .query(&[("query", deeply_nested(open, close, 10_000))])
                .header("accept", "application/graphql-response+json")
                .send().await.unwrap();
            assert_eq!(by_get.status(), 400, "{open}");
            let by_get: serde_json::Value = by_get.json().await.unwrap();
            assert_eq!(by_get["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        }
        // The node is still there.
        app.graphql(None, "{ __typename }", json!({})).await.ok();

        // Deep JSON in `variables` is refused by the JSON reader, as a malformed request.
        let deep_json = format!(
            r#"{{"query": "query($x: String) {{ __typename }}", "variables": {{"x": {}{}}}}}"#,
            "[".repeat(DEEP),
            "]".repeat(DEEP)
        );
        let response = app.http().post(app.url("/graphql"))
            .header("content-type", "application/json")
            .body(deep_json).send().await.unwrap();
        assert_eq!(response.status(), 400);
        let reply: serde_json::Value = response.json().await.unwrap();
        assert_eq!(reply["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        app.graphql(None, "{ __typename }", json!({})).await.ok();
    }
}

backend_test! {
    async fn deeply_nested_documents_are_refused_over_websockets(backend: Backend) {
        let app = TestApp::start(backend).await;
        let admin = app.register("root").await;
        for protocol in [Protocol::TransportWs, Protocol::LegacyWs] {
            let mut socket = app
                .subscribed_socket(protocol, json!({ "token": admin.access_token }))
                .await;
            for (index, (open, close)) in BRACKETS.into_iter().enumerate() {
                let id = index.to_string();
                socket.subscribe(&id, &deeply_nested(open, close, DEEP)).await;
                let refused = socket.next_payload().await;
                assert_eq!(refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{refused}");
                let complete = socket.next_json().await.expect("complete");
                assert_eq!(complete["type"], "complete", "{complete}");
                assert_eq!(complete["id"], id.as_str());
            }
            // The same socket still serves.
            socket.subscribe("ok", "query { __typename }").await;
            assert_eq!(socket.next_payload().await["data"]["__typename"], "Query");
        }
        app.graphql(None, "{ __typename }", json!({})).await.ok();
    }
}

/// `count` aliases of `users(first: page)`.
fn user_pages(count: usize, page: u32) -> String {
    let aliases: Vec<String> = (0..count)
        .map(|index| {
            format!("p{index}: users(first: {page}) {{ edges {{ node {{ id username }} }} }}")
        })
        .collect();
    format!("{{ {} }}", aliases.join(" "))
}

backend_test! {
    async fn batches_are_capped_and_pages_weighed(backend: Backend) {
        let app = TestApp::builder(backend)
            .config(|config| {
                config.limits.max_batch_operations = 3;
                config.limits.max_query_complexity = 1_000;
            })
            .start()
            .await;
        let admin = app.register("root").await;
        let post = |body: serde_json::Value| {
            app.http().post(app.url("/graphql")).bearer_auth(&admin.access_token).json(&body).send()
        };

        // Over the cap: refused whole, nothing runs.
        let registrations: Vec<serde_json::Value> = (0..4)
            .map(|index| json!({ "query": format!(
                "mutation {{ register(input: {{username: \"batch{index}\", email: \"batch{index}@example.com\", password: \"batch-password\"}}) {{ accessToken }} }}"
            ) }))
            .collect();
        let response = post(json!(registrations)).await.unwrap();
        assert_eq!(response.status(), 400);
        let reply: serde_json::Value = response.json().await.unwrap();
        assert_eq!(reply["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{reply}");
        app.register("batch0").await;

        // A page weighs its size: one page of 100 fits, three do not.
        let one = app.graphql(Some(&admin.access_token), &user_pages(1, 100), json!({})).await;
        one.ok();
        let three = app.graphql(Some(&admin.access_token), &user_pages(3, 100), json!({})).await;
        assert_eq!(three.code(), "BAD_USER_INPUT");
        let small = app.graphql(Some(&admin.access_token), &user_pages(3, 20), json!({})).await;
        small.ok();

        // The operations of a batch share one budget: each fits alone, the third goes over.
        let page = json!({ "query": user_pages(1, 100) });
        let replies: Vec<serde_json::Value> = post(json!([page, page, page])).await.unwrap().json().await.unwrap();
        assert!(replies[0].get("errors").is_none(), "{}", replies[0]);
        assert!(replies[1].get("errors").is_none(), "{}", replies[1]);
        assert_eq!(replies[2]["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{}", replies[2]);
        assert!(replies[2]["errors"][0]["message"].as_str().unwrap().contains("batch is too complex"));
    }
}

backend_test! {
    async fn oversize_websocket_messages_close_the_socket_with_1009(backend: Backend) {
        let app = TestApp::builder(backend)
            .config(|config| config.limits.max_body_bytes = 2048)
            .start()
            .await;
        let admin = app.register("root").await;
        let mut socket = app
            .subscribed_socket(Protocol::TransportWs, json!({ "token": admin.access_token }))
            .await;
        let padding = "x".repeat(4096);
        socket.subscribe("big", &format!("query {{ __typename }} # {padding}")).await;
        let closed = socket.closed().await;
        assert_eq!(closed.code, Some(1009), "{closed:?}");
        assert_eq!(closed.reason, "message too big");
        // A message within the limit is served, on a new socket.
        let mut socket = app
            .subscribed_socket(Protocol::TransportWs, json!({ "token": admin.access_token }))
            .await;
        socket.subscribe("ok", "query { __typename }").await;
        assert_eq!(socket.next_payload().await["data"]["__typename"], "Query");
    }
}
