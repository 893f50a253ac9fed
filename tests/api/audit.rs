//! The audit trail: every change recorded, filterable, exportable.

use serde_json::json;

use crate::backend_test;
use crate::support::client::http_case;
use crate::support::{Backend, TestApp};

backend_test! {
    async fn changes_are_recorded_filtered_and_exported(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        let bob = app.register("bob").await;
        let project = app.create_project(&ada.access_token, "Audited").await;
        app.add_member(&ada.access_token, &project, &bob.id, "MAINTAINER").await;
        let case = app.create_case(&bob.access_token, http_case(&project, "Ping", "http://x/")).await.ok();
        let case_id = case.data("createCase.case.id").clone();
        app.graphql(
            Some(&bob.access_token),
            "mutation($input: UpdateCaseInput!) { updateCase(input: $input) { case { id } } }",
            json!({ "input": { "id": case_id, "name": "Ping 2" } }),
        )
        .await
        .ok();
        app.graphql(
            Some(&bob.access_token),
            "mutation($input: CreateEnvironmentInput!) { createEnvironment(input: $input) { environment { id } } }",
            json!({ "input": { "projectId": project, "name": "prod", "variables": [{ "name": "key", "value": "hunter2-hunter2", "secret": true }] } }),
        )
        .await
        .ok();

        let query = "query($p: ID!, $f: AuditFilterInput) { auditLog(projectId: $p, filter: $f) {
            totalCount nodes { action objectType objectId actorName summary createdAt } } }";
        let all = app.graphql(Some(&ada.access_token), query, json!({ "p": project })).await.ok();
        let actions: Vec<&str> = all.data("auditLog.nodes").as_array().unwrap().iter().map(|n| n["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["environment.create", "case.update", "case.create", "member.add", "project.create"]);
        assert!(!all.0.to_string().contains("hunter2-hunter2"));

        let by_bob = app.graphql(Some(&ada.access_token), query, json!({ "p": project, "f": { "actorId": bob.id } })).await.ok();
        assert_eq!(by_bob.data("auditLog.totalCount"), 3);
        let cases_only = app.graphql(Some(&ada.access_token), query, json!({ "p": project, "f": { "objectType": "case" } })).await.ok();
        assert_eq!(cases_only.data("auditLog.totalCount"), 2);
        assert_eq!(cases_only.data("auditLog.nodes.0.objectId"), &case_id);
        let updates = app.graphql(Some(&ada.access_token), query, json!({ "p": project, "f": { "action": "case.update" } })).await.ok();
        assert!(updates.data("auditLog.nodes.0.summary").as_str().unwrap().contains("name"));
        let future = app
            .graphql(Some(&ada.access_token), query, json!({ "p": project, "f": { "since": "2999-01-01T00:00:00Z" } }))
            .await
            .ok();
        assert_eq!(future.data("auditLog.totalCount"), 0);

        let csv = app
            .graphql(Some(&ada.access_token), "query($p: ID!) { exportAuditLog(projectId: $p, filter: {objectType: \"case\"}) }", json!({ "p": project }))
            .await
            .ok();
        let text = csv.data("exportAuditLog").as_str().unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "created_at,actor,action,object_type,object_id,summary");
        assert_eq!(lines.len(), 3);
        assert!(lines[1].contains(",bob,case.update,case,"));

        let outsider = app.register("eve").await;
        let hidden = app.graphql(Some(&outsider.access_token), query, json!({ "p": project })).await;
        assert_eq!(hidden.code(), "NOT_FOUND");
    }
}
