//! Cases: typed specs that round-trip, validation, kinds and roles, lists, bulk changes.

use serde_json::{json, Value};

use crate::backend_test;
use crate::support::client::{http_case, script_case};
use crate::support::{Backend, TestApp};

const SPEC_FIELDS: &str = "spec {
  http { request { method url query { name value } headers { name value } body { json text form { name value } } timeoutMs followRedirects }
         captures { variable jsonPath header regex group }
         assertions { status { equals oneOf min max } header { name exists equals matches }
                      jsonPath { path operator value } body { contains matches } keywords { all }
                      responseTime { belowMs } jsonSchema { schema } } }
  perf { request { method url timeoutMs followRedirects } load { virtualUsers arrivalRate durationSeconds stages { durationSeconds target } }
         thresholds { percentile belowMs maxErrorRatePercent } }
  script { files { path content } requirements timeoutSeconds }
  ui { steps { action url selector text } timeoutSeconds } }";

fn full_http_spec() -> Value {
    json!({ "http": {
        "request": {
            "method": "POST", "url": "{{baseUrl}}/orders",
            "query": [{ "name": "dry", "value": "1" }],
            "headers": [{ "name": "Authorization", "value": "Bearer {{token}}" }],
            "body": { "json": { "item": "book", "qty": 2, "tags": ["a", "b"], "nested": { "x": null } }, "text": null, "form": null },
            "timeoutMs": 5000, "followRedirects": false
        },
        "captures": [
            { "variable": "orderId", "jsonPath": "$.id", "header": null, "regex": null, "group": null },
            { "variable": "loc", "jsonPath": null, "header": "Location", "regex": null, "group": null }
        ],
        "assertions": [
            { "status": { "equals": null, "oneOf": [200, 201], "min": null, "max": null } },
            { "header": { "name": "content-type", "exists": null, "equals": null, "matches": "json" } },
            { "jsonPath": { "path": "$.items[*].price", "operator": "GREATER_THAN", "value": 0 } },
            { "jsonPath": { "path": "$.status", "operator": "EQUALS", "value": { "code": "ok" } } },
            { "body": { "contains": "order", "matches": null } },
            { "keywords": { "all": ["select", "users"] } },
            { "responseTime": { "belowMs": 800 } },
            { "jsonSchema": { "schema": { "type": "object", "required": ["id"] } } }
        ]
    }, "perf": null, "script": null, "ui": null })
}

/// Keeps only the non-null keys, so requested-but-unset fields compare equal.
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

backend_test! {
    async fn specs_of_every_kind_round_trip_exactly(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        let project = app.create_project(&ada.access_token, "Specs").await;
        let specs = [
            ("HTTP", full_http_spec()),
            ("PERF", json!({ "perf": {
                "request": { "method": "GET", "url": "http://127.0.0.1:9/load", "timeoutMs": 2000, "followRedirects": true },
                "load": { "virtualUsers": 20, "arrivalRate": null, "durationSeconds": 60,
                          "stages": [{ "durationSeconds": 10, "target": 20 }] },
                "thresholds": [
                    { "percentile": 95.0, "belowMs": 300, "maxErrorRatePercent": null },
                    { "percentile": null, "belowMs": null, "maxErrorRatePercent": 1.5 }
                ] } })),
            ("SCRIPT", json!({ "script": {
                "files": [{ "path": "test_api.py", "content": "import requests\n\ndef test_ok():\n    assert 1 + 1 == 2\n" },
                          { "path": "helpers/util.py", "content": "X = 1\n" }],
                "requirements": "requests==2.32.3\n", "timeoutSeconds": 120 } })),
            ("UI", json!({ "ui": {
                "steps": [
                    { "action": "OPEN", "url": "http://127.0.0.1:9/login", "selector": null, "text": null },
                    { "action": "TYPE", "url": null, "selector": "#user", "text": "ada" },
                    { "action": "CLICK", "url": null, "selector": "button[type=submit]", "text": null },
                    { "action": "ASSERT_TEXT", "url": null, "selector": "h1", "text": "Welcome" },
                    { "action": "SCREENSHOT", "url": null, "selector": null, "text": "after-login" }
                ], "timeoutSeconds": 60 } })),
        ];
        let create = format!("mutation($input: CreateCaseInput!) {{ createCase(input: $input) {{ case {{ id kind {SPEC_FIELDS} }} }} }}");
        for (kind, spec) in specs {
            let created = app
                .graphql(Some(&ada.access_token), &create, json!({ "input": { "projectId": project, "name": kind, "spec": spec } }))
                .await
                .ok();
            assert_eq!(created.data("createCase.case.kind"), kind);
            let id = created.data("createCase.case.id").clone();
            let read = app
                .graphql(Some(&ada.access_token), &format!("query($id: ID!) {{ case(id: $id) {{ {SPEC_FIELDS} }} }}"), json!({ "id": id }))
                .await
                .ok();
            assert_eq!(without_nulls(read.data("case.spec")), without_nulls(&spec), "{kind}");
        }
    }
}

backend_test! {
    async fn invalid_specs_name_the_failing_field(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        let project = app.create_project(&ada.access_token, "Invalid").await;
        let with_spec = |spec: Value| json!({ "projectId": project, "name": "bad", "spec": spec });
        let request = json!({ "method": "GET", "url": "http://x/" });
        let cases = [
            (json!({}), "spec"),
            (json!({ "http": { "request": request }, "script": { "files": [] } }), "spec"),
            (json!({ "http": { "request": { "method": "GET", "url": "not a url" } } }), "spec.http.request.url"),
            (json!({ "http": { "request": { "method": "GET", "url": "http://x/", "timeoutMs": 0 } } }), "spec.http.request.timeoutMs"),
            (json!({ "http": { "request": request, "assertions": [{}] } }), "spec.http.assertions[0]"),
            (json!({ "http": { "request": request, "assertions": [{ "status": { "equals": 99 } }] } }), "spec.http.assertions[0].status"),
            (json!({ "http": { "request": request, "assertions": [{ "body": { "matches": "(" } }] } }), "spec.http.assertions[0].body.matches"),
            (json!({ "http": { "request": request, "assertions": [{ "jsonPath": { "path": "$..[", "operator": "EXISTS" } }] } }), "spec.http.assertions[0].jsonPath.path"),
            (json!({ "http": { "request": request, "assertions": [{ "jsonPath": { "path": "$.a", "operator": "GREATER_THAN", "value": "x" } }] } }), "spec.http.assertions[0].jsonPath.value"),
            (json!({ "http": { "request": request, "captures": [{ "variable": "1x", "jsonPath": "$.a" }] } }), "spec.http.captures[0].variable"),
            (json!({ "perf": { "request": request, "load": { "durationSeconds": 10 } } }), "spec.perf.load"),
            (json!({ "ui": { "steps": [{ "action": "CLICK" }] } }), "spec.ui.steps[0].selector"),
        ];
        for (spec, field) in cases {
            let reply = app.create_case(&ada.access_token, with_spec(spec.clone())).await;
            assert_eq!(reply.code(), "BAD_USER_INPUT", "{spec}");
            assert_eq!(reply.extension("field"), field, "{spec}");
        }
        let bad_priority = app
            .create_case(&ada.access_token, json!({ "projectId": project, "name": "p", "priority": 12,
                "spec": { "http": { "request": request } } }))
            .await;
        assert_eq!(bad_priority.extension("field"), "priority");
        let wrong_type = app
            .create_case(&ada.access_token, json!({ "projectId": project, "name": "t",
                "spec": { "http": { "request": { "method": "FETCH", "url": "http://x/" } } } }))
            .await;
        assert_eq!(wrong_type.code(), "BAD_USER_INPUT");
        let none = app
            .graphql(Some(&ada.access_token), "query($p: ID!) { cases(projectId: $p) { totalCount } }", json!({ "p": project }))
            .await
            .ok();
        assert_eq!(none.data("cases.totalCount"), 0, "nothing was stored");
    }
}

backend_test! {
    async fn only_maintainers_write_script_and_ui_cases(backend: Backend) {
        let app = TestApp::start(backend).await;
        let owner = app.register("owner").await;
        let member = app.register("member").await;
        let project = app.create_project(&owner.access_token, "Code").await;
        app.add_member(&owner.access_token, &project, &member.id, "MEMBER").await;
        assert_eq!(app.create_case(&member.access_token, script_case(&project, "s")).await.code(), "FORBIDDEN");
        let ui = json!({ "projectId": project, "name": "u", "spec": { "ui": { "steps": [{ "action": "OPEN", "url": "http://x/" }] } } });
        assert_eq!(app.create_case(&member.access_token, ui.clone()).await.code(), "FORBIDDEN");
        // A member may not turn an HTTP case into a script either.
        let http = app.create_case(&member.access_token, http_case(&project, "h", "http://x/")).await.ok();
        let id = http.data("createCase.case.id").clone();
        let to_script = app
            .graphql(
                Some(&member.access_token),
                "mutation($input: UpdateCaseInput!) { updateCase(input: $input) { case { kind } } }",
                json!({ "input": { "id": id, "spec": script_case(&project, "x")["spec"] } }),
            )
            .await;
        assert_eq!(to_script.code(), "FORBIDDEN");
        app.create_case(&owner.access_token, script_case(&project, "s")).await.ok();
        app.create_case(&owner.access_token, ui).await.ok();
    }
}

backend_test! {
    async fn update_copy_and_bulk_activate(backend: Backend) {
        let app = TestApp::start(backend).await;
        app.register("root").await;
        let ada = app.register("ada").await;
        let bob = app.register("bob").await;
        let project = app.create_project(&ada.access_token, "Edit").await;
        let created = app.create_case(&ada.access_token, http_case(&project, "Login", "http://x/login")).await.ok();
        let id = created.data("createCase.case.id").clone();
        let updated = app
            .graphql(
                Some(&ada.access_token),
                "mutation($input: UpdateCaseInput!) { updateCase(input: $input) { case { name tags priority active spec { http { request { url } } } } } }",
                json!({ "input": { "id": id, "tags": ["smoke", "auth"], "priority": 0 } }),
            )
            .await
            .ok();
        assert_eq!(updated.data("updateCase.case.name"), "Login", "untouched fields stay");
        assert_eq!(updated.data("updateCase.case.tags"), &json!(["smoke", "auth"]));
        assert_eq!(updated.data("updateCase.case.spec.http.request.url"), "http://x/login");

        let copy = app
            .graphql(Some(&ada.access_token), "mutation($input: CopyCaseInput!) { copyCase(input: $input) { case { id name tags } } }", json!({ "input": { "id": id } }))
            .await
            .ok();
        assert_eq!(copy.data("copyCase.case.name"), "Login (copy)");
        assert_eq!(copy.data("copyCase.case.tags"), &json!(["smoke", "auth"]));
        let copy_id = copy.data("copyCase.case.id").clone();

        let bulk = "mutation($input: SetCasesActiveInput!) { setCasesActive(input: $input) { cases { id active } } }";
        let off = app.graphql(Some(&ada.access_token), bulk, json!({ "input": { "ids": [id, copy_id], "active": false } })).await.ok();
        assert!(off.data("setCasesActive.cases").as_array().unwrap().iter().all(|c| c["active"] == false));
        // Someone else's case in the list: nothing changes.
        let theirs = app.create_project(&bob.access_token, "Bob's").await;
        let bob_case = app.create_case(&bob.access_token, http_case(&theirs, "b", "http://x/")).await.ok();
        let bob_id = bob_case.data("createCase.case.id").clone();
        let mixed = app.graphql(Some(&ada.access_token), bulk, json!({ "input": { "ids": [id, bob_id], "active": true } })).await;
        assert_eq!(mixed.code(), "NOT_FOUND");
        let still = app
            .graphql(Some(&ada.access_token), "query($id: ID!) { case(id: $id) { active } }", json!({ "id": id }))
            .await
            .ok();
        assert_eq!(still.data("case.active"), false);
    }
}

backend_test! {
    async fn case_lists_filter_sort_and_page(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        let project = app.create_project(&ada.access_token, "Lists").await;
        for (name, url, tags, active) in [
            ("Checkout", "http://shop/checkout", vec!["smoke", "shop"], true),
            ("Basket", "http://shop/basket", vec!["shop"], true),
            ("Login", "http://auth/login", vec!["smoke"], false),
            ("Profile", "http://auth/profile", vec![], true),
        ] {
            let mut input = http_case(&project, name, url);
            input["tags"] = json!(tags);
            input["active"] = json!(active);
            app.create_case(&ada.access_token, input).await.ok();
        }
        app.create_case(&ada.access_token, script_case(&project, "Script")).await.ok();
        let query = "query($p: ID!, $f: CaseFilterInput, $o: CaseOrderInput, $first: Int, $after: String) {
            cases(projectId: $p, filter: $f, orderBy: $o, first: $first, after: $after) {
              totalCount nodes { name } pageInfo { hasNextPage endCursor } } }";
        let names = |reply: &crate::support::client::Reply| -> Vec<String> {
            reply.data("cases.nodes").as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap().to_owned()).collect()
        };
        let run = |filter: Value, order: Value| {
            let app = &app;
            let token = ada.access_token.clone();
            let project = project.clone();
            async move {
                app.graphql(Some(&token), query, json!({ "p": project, "f": filter, "o": order })).await.ok()
            }
        };
        assert_eq!(names(&run(json!({ "tags": ["smoke"] }), json!(null)).await), ["Checkout", "Login"]);
        assert_eq!(names(&run(json!({ "tags": ["smoke", "shop"] }), json!(null)).await), ["Checkout"]);
        assert_eq!(names(&run(json!({ "active": false }), json!(null)).await), ["Login"]);
        assert_eq!(names(&run(json!({ "kind": "SCRIPT" }), json!(null)).await), ["Script"]);
        assert_eq!(names(&run(json!({ "search": "AUTH/" }), json!(null)).await), ["Login", "Profile"]);
        assert_eq!(
            names(&run(json!(null), json!({ "field": "NAME", "direction": "DESC" })).await),
            ["Script", "Profile", "Login", "Checkout", "Basket"]
        );
        let first = app
            .graphql(Some(&ada.access_token), query, json!({ "p": project, "o": { "field": "NAME" }, "first": 2 }))
            .await
            .ok();
        assert_eq!(names(&first), ["Basket", "Checkout"]);
        assert_eq!(first.data("cases.totalCount"), 5);
        let after = first.data("cases.pageInfo.endCursor").clone();
        let second = app
            .graphql(Some(&ada.access_token), query, json!({ "p": project, "o": { "field": "NAME" }, "first": 2, "after": after }))
            .await
            .ok();
        assert_eq!(names(&second), ["Login", "Profile"]);
    }
}

backend_test! {
    async fn listing_cases_with_project_and_author_takes_constant_queries(backend: Backend) {
        // A wide batch window, so a slow debug build under a parallel test load
        // still gathers every key of the page into one batch.
        let app = TestApp::builder(backend)
            .config(|config| config.limits.batch_window_ms = 100)
            .start()
            .await;
        let ada = app.register("ada").await;
        let bob = app.register("bob").await;
        let project = app.create_project(&ada.access_token, "Loaders").await;
        app.add_member(&ada.access_token, &project, &bob.id, "MEMBER").await;
        let query = "query($p: ID!, $first: Int) { cases(projectId: $p, first: $first) {
            nodes { id name project { id name } createdBy { username } updatedBy { username } } } }";
        let mut statements = Vec::new();
        for batch in [10, 90] {
            for index in 0..batch {
                let author = if index % 2 == 0 { &ada } else { &bob };
                app.create_case(&author.access_token, http_case(&project, &format!("c{index}"), "http://x/")).await.ok();
            }
            // Background work (run takeover scans, the task planner) counts statements
            // too and can only add: the fewest over three reads is the query's own.
            let mut fewest = u64::MAX;
            for _ in 0..3 {
                let before = app.app.db.statements_run();
                let reply = app
                    .graphql(Some(&ada.access_token), query, json!({ "p": project, "first": 100 }))
                    .await
                    .ok();
                fewest = fewest.min(app.app.db.statements_run() - before);
                let nodes = reply.data("cases.nodes").as_array().unwrap().clone();
                assert!(nodes.iter().all(|n| n["project"]["name"] == "Loaders"));
                assert!(nodes.iter().any(|n| n["createdBy"]["username"] == "bob"));
            }
            statements.push(fewest);
        }
        assert_eq!(statements[0], statements[1], "10 and 100 cases: {statements:?}");
        assert!(statements[1] <= 10, "{statements:?}");

        // The COUNT runs only for a client that selects totalCount.
        let mut fewest = [u64::MAX; 2];
        for _ in 0..3 {
            for (index, fields) in ["nodes { id }", "totalCount nodes { id }"].iter().enumerate() {
                let query = format!("query($p: ID!) {{ cases(projectId: $p, first: 5) {{ {fields} }} }}");
                let before = app.app.db.statements_run();
                let reply = app.graphql(Some(&ada.access_token), &query, json!({ "p": project })).await.ok();
                fewest[index] = fewest[index].min(app.app.db.statements_run() - before);
                assert_eq!(reply.data("cases.nodes").as_array().unwrap().len(), 5);
                if index == 1 {
                    assert_eq!(reply.data("cases.totalCount"), 100);
                }
            }
        }
        assert_eq!(fewest[1], fewest[0] + 1, "{fewest:?}");

        // Specs are read when the selection shows them, however it spells that.
        for selection in [
            "nodes { spec { http { request { url } } } }",
            "edges { node { ...Spec } }",
            "nodes { ... on Case { spec { http { request { url } } } } }",
        ] {
            let query = format!("query($p: ID!) {{ cases(projectId: $p, first: 3) {{ {selection} }} }}
                fragment Spec on Case {{ spec {{ http {{ request {{ url }} }} }} }}");
            let query = if selection.contains("...Spec") { query } else { query.split("fragment").next().unwrap().to_owned() };
            let reply = app.graphql(Some(&ada.access_token), &query, json!({ "p": project })).await.ok();
            let cases = &reply.0["data"]["cases"];
            let urls: Vec<&Value> = match cases["nodes"].as_array() {
                Some(nodes) => nodes.iter().map(|node| &node["spec"]["http"]["request"]["url"]).collect(),
                None => cases["edges"].as_array().unwrap().iter().map(|edge| &edge["node"]["spec"]["http"]["request"]["url"]).collect(),
            };
            assert_eq!(urls.len(), 3, "{selection}");
            assert!(urls.iter().all(|url| *url == "http://x/"), "{selection}: {urls:?}");
        }
    }
}
