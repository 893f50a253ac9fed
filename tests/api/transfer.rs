//! Moving cases in and out: CSV and Excel import (GraphQL upload and REST),
//! OpenAPI generation, JSON and CSV export.

use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::backend_test;
use crate::support::client::{http_case, Reply};
use crate::support::{Backend, TestApp};

const IMPORT: &str = "mutation($input: ImportCasesInput!) { importCases(input: $input) {
    format committed createdCount
    drafts { row name kind tags active spec { http { request { method url body { json } } assertions { status { min max equals } keywords { all } } } } }
    rejected { row column reason } } }";

const GENERATE: &str = "mutation($input: GenerateCasesInput!) { generateCases(input: $input) {
    format committed createdCount baseUrl
    drafts { operation name tags spec { http { request { method url } assertions { status { equals min max } } } } }
    rejected { operation reason } } }";

const QUESTION_CSV: &str = "question,expected_keywords,is_active\n\
    查询用户列表,\"select, users\",true\n\
    ,orphan keywords,true\n\
    统计订单数量,count，orders,false\n";

impl TestApp {
    /// Sends `importCases` as a GraphQL multipart upload.
    async fn upload_cases(
        &self,
        token: &str,
        input: Value,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Reply {
        let operations = json!({ "query": IMPORT, "variables": { "input": input } });
        let form = Form::new()
            .text("operations", operations.to_string())
            .text("map", json!({ "0": ["variables.input.file"] }).to_string())
            .part("0", Part::bytes(bytes).file_name(file_name.to_owned()));
        let response = self
            .http()
            .post(self.url("/graphql"))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        Reply(response.json().await.unwrap())
    }

    async fn case_count(&self, token: &str, project: &str) -> i64 {
        self.graphql(
            Some(token),
            "query($p: ID!) { cases(projectId: $p) { totalCount } }",
            json!({ "p": project }),
        )
        .await
        .ok()
        .data("cases.totalCount")
        .as_i64()
        .unwrap()
    }
}

backend_test! {
    async fn question_csv_previews_then_commits_all_or_nothing(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        let project = app.create_project(&ada.access_token, "Imports").await;
        let input = |commit: bool, skip: bool| json!({ "projectId": project, "file": null, "commit": commit, "skipRejected": skip });
        let preview = app.upload_cases(&ada.access_token, input(false, false), "cases.csv", QUESTION_CSV.into()).await.ok();
        assert_eq!(preview.data("importCases.format"), "QUESTION");
        assert_eq!(preview.data("importCases.committed"), false);
        let drafts = preview.data("importCases.drafts").as_array().unwrap().clone();
        assert_eq!(drafts.len(), 2);
        assert_eq!(drafts[0]["row"], 2);
        assert_eq!(drafts[0]["name"], "查询用户列表");
        assert_eq!(drafts[0]["spec"]["http"]["request"]["method"], "POST");
        assert_eq!(drafts[0]["spec"]["http"]["request"]["url"], "{{baseUrl}}/query");
        assert_eq!(drafts[0]["spec"]["http"]["request"]["body"]["json"], json!({ "question": "查询用户列表" }));
        assert_eq!(drafts[0]["spec"]["http"]["assertions"][1]["keywords"]["all"], json!(["select", "users"]));
        assert_eq!(drafts[1]["spec"]["http"]["assertions"][1]["keywords"]["all"], json!(["count", "orders"]));
        assert_eq!(drafts[1]["active"], false);
        assert_eq!(
            preview.data("importCases.rejected"),
            &json!([{ "row": 3, "column": "question", "reason": preview.data("importCases.rejected.0.reason") }])
        );
        assert_eq!(app.case_count(&ada.access_token, &project).await, 0, "a preview writes nothing");

        let refused = app.upload_cases(&ada.access_token, input(true, false), "cases.csv", QUESTION_CSV.into()).await;
        assert_eq!(refused.code(), "BAD_USER_INPUT");
        assert_eq!(app.case_count(&ada.access_token, &project).await, 0, "all or nothing");

        let committed = app.upload_cases(&ada.access_token, input(true, true), "cases.csv", QUESTION_CSV.into()).await.ok();
        assert_eq!(committed.data("importCases.createdCount"), 2);
        assert_eq!(app.case_count(&ada.access_token, &project).await, 2);
    }
}

backend_test! {
    async fn generic_excel_import_and_malformed_files(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        let project = app.create_project(&ada.access_token, "Excel").await;
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let sheet = workbook.add_worksheet();
        let rows = [
            ["name", "method", "url", "headers", "body", "expected_status", "keywords", "tags"],
            ["List pets", "GET", "http://127.0.0.1:9/pets", "Accept: application/json", "", "200", "dog", "pets,smoke"],
            ["Add pet", "POST", "http://127.0.0.1:9/pets", "{\"X-Trace\": \"1\"}", "{\"name\": \"rex\"}", "201", "", "pets"],
            ["Broken", "FETCH", "http://127.0.0.1:9/", "", "", "", "", ""],
        ];
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                sheet.write_string(r as u32, c as u16, *cell).unwrap();
            }
        }
        let bytes = workbook.save_to_buffer().unwrap();
        let input = json!({ "projectId": project, "file": null, "commit": true, "skipRejected": true });
        let reply = app.upload_cases(&ada.access_token, input, "pets.xlsx", bytes).await.ok();
        assert_eq!(reply.data("importCases.format"), "GENERIC");
        assert_eq!(reply.data("importCases.createdCount"), 2);
        assert_eq!(reply.data("importCases.rejected.0.row"), 4);
        assert_eq!(reply.data("importCases.rejected.0.column"), "method");
        let listed = app
            .graphql(Some(&ada.access_token), "query($p: ID!) { cases(projectId: $p, filter: {tags: [\"smoke\"]}) { nodes { name } } }", json!({ "p": project }))
            .await
            .ok();
        assert_eq!(listed.data("cases.nodes"), &json!([{ "name": "List pets" }]));

        let garbage = app
            .upload_cases(&ada.access_token, json!({ "projectId": project, "file": null }), "cases.csv", b"foo,bar\n1,2\n".to_vec())
            .await;
        assert_eq!(garbage.code(), "BAD_USER_INPUT");
        assert_eq!(garbage.extension("field"), "file");
    }
}

backend_test! {
    async fn rest_import_path_takes_the_same_file(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        let project = app.create_project(&ada.access_token, "Rest").await;
        let form = || Form::new().part("file", Part::bytes(QUESTION_CSV.as_bytes().to_vec()).file_name("cases.csv"));
        let url = app.url(&format!("/cases/import?project_id={project}&skip_rejected=true"));
        let anonymous = app.http().post(&url).multipart(form()).send().await.unwrap();
        assert_eq!(anonymous.status(), 401);
        let body: Value = anonymous.json().await.unwrap();
        assert_eq!(body["error"]["code"], "UNAUTHENTICATED");

        let response = app.http().post(&url).bearer_auth(&ada.access_token).multipart(form()).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["created"], 2);
        assert_eq!(body["rejected"][0]["row"], 3);
        assert_eq!(app.case_count(&ada.access_token, &project).await, 2);

        let stranger = app.register("eve").await;
        let hidden = app.http().post(&url).bearer_auth(&stranger.access_token).multipart(form()).send().await.unwrap();
        assert_eq!(hidden.status(), 404);
    }
}

const PETSTORE: &str = r##"
openapi: 3.0.3
info: { title: Petstore, version: "1" }
servers: [{ url: "http://127.0.0.1:9/v1" }]
paths:
  /pets:
    get:
      summary: List pets
      tags: [pets]
      responses: { "200": { description: ok } }
    post:
      operationId: createPet
      tags: [pets]
      requestBody:
        content:
          application/json:
            schema: { $ref: "#/components/schemas/Pet" }
      responses: { "201": { description: created } }
  /pets/{id}:
    get:
      parameters: [{ name: id, in: path, required: true, schema: { type: integer } }]
      responses: { "2XX": { description: ok } }
components:
  schemas:
    Pet:
      type: object
      properties: { name: { type: string }, age: { type: integer } }
"##;

backend_test! {
    async fn openapi_documents_generate_one_case_per_operation(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        let project = app.create_project(&ada.access_token, "Generated").await;
        let preview = app
            .graphql(Some(&ada.access_token), GENERATE, json!({ "input": { "projectId": project, "document": PETSTORE } }))
            .await
            .ok();
        assert_eq!(preview.data("generateCases.format"), "OPENAPI");
        assert_eq!(preview.data("generateCases.baseUrl"), "http://127.0.0.1:9/v1");
        let drafts = preview.data("generateCases.drafts").as_array().unwrap().clone();
        let operations: Vec<&str> = drafts.iter().map(|d| d["operation"].as_str().unwrap()).collect();
        assert_eq!(operations, ["GET /pets", "POST /pets", "GET /pets/{id}"]);
        assert_eq!(drafts[0]["name"], "List pets");
        assert_eq!(drafts[0]["tags"], json!(["pets"]));
        assert_eq!(drafts[1]["spec"]["http"]["assertions"][0]["status"]["equals"], 201);
        assert_eq!(drafts[2]["spec"]["http"]["request"]["url"], "{{baseUrl}}/pets/1");
        assert_eq!(drafts[2]["spec"]["http"]["assertions"][0]["status"]["min"], 200);
        assert_eq!(app.case_count(&ada.access_token, &project).await, 0);

        let committed = app
            .graphql(Some(&ada.access_token), GENERATE, json!({ "input": { "projectId": project, "document": PETSTORE, "commit": true } }))
            .await
            .ok();
        assert_eq!(committed.data("generateCases.createdCount"), 3);
        assert_eq!(app.case_count(&ada.access_token, &project).await, 3);

        for (input, field) in [
            (json!({ "projectId": project, "document": "swagger: '2.0'\ninfo: {title: x, version: '1'}\npaths: {}" }), "document"),
            (json!({ "projectId": project, "document": "{ not yaml: [" }), "document"),
            (json!({ "projectId": project }), "document"),
            (json!({ "projectId": project, "url": "ftp://example.invalid/spec.yaml" }), "url"),
        ] {
            let reply = app.graphql(Some(&ada.access_token), GENERATE, json!({ "input": input })).await;
            assert_eq!(reply.code(), "BAD_USER_INPUT", "{}", reply.0);
            assert_eq!(reply.extension("field"), field);
        }
    }
}

backend_test! {
    async fn exports_reimport_exactly(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        let source = app.create_project(&ada.access_token, "Source").await;
        let target = app.create_project(&ada.access_token, "Target").await;
        let mut first = http_case(&source, "First", "http://127.0.0.1:9/a");
        first["tags"] = json!(["x", "y"]);
        first["priority"] = json!(1);
        app.create_case(&ada.access_token, first).await.ok();
        app.create_case(&ada.access_token, http_case(&source, "Second", "http://127.0.0.1:9/b")).await.ok();
        let export = |format: &str| {
            let app = &app;
            let token = ada.access_token.clone();
            let source = source.clone();
            let format = format.to_owned();
            async move {
                app.graphql(Some(&token), "query($p: ID!, $f: CaseExportFormat!) { exportCases(projectId: $p, format: $f) }",
                    json!({ "p": source, "f": format }))
                    .await
                    .ok()
                    .data("exportCases")
                    .as_str()
                    .unwrap()
                    .to_owned()
            }
        };
        let csv = export("CSV").await;
        assert!(csv.lines().next().unwrap().starts_with("name,"), "{csv}");
        assert_eq!(csv.lines().count(), 3);
        let json_export = export("JSON").await;
        let reply = app
            .upload_cases(&ada.access_token, json!({ "projectId": target, "file": null, "commit": true }), "cases.json", json_export.clone().into_bytes())
            .await
            .ok();
        assert_eq!(reply.data("importCases.createdCount"), 2);
        let read_back = app
            .graphql(Some(&ada.access_token), "query($p: ID!, $f: CaseExportFormat!) { exportCases(projectId: $p, format: $f) }",
                json!({ "p": target, "f": "JSON" }))
            .await
            .ok();
        assert_eq!(read_back.data("exportCases").as_str().unwrap(), json_export);
    }
}

backend_test! {
    async fn two_thousand_rows_import_in_one_commit(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        let project = app.create_project(&ada.access_token, "Bulk").await;
        let mut csv = String::from("name,method,url,expected_status,tags\n");
        for index in 0..2000 {
            csv.push_str(&format!("case {index},GET,http://127.0.0.1:9/item/{index},200,bulk\n"));
        }
        let reply = app
            .upload_cases(&ada.access_token, json!({ "projectId": project, "file": null, "commit": true }), "bulk.csv", csv.into_bytes())
            .await
            .ok();
        assert_eq!(reply.data("importCases.createdCount"), 2000);
        assert_eq!(app.case_count(&ada.access_token, &project).await, 2000);
        let audit = app
            .graphql(Some(&ada.access_token), "query($p: ID!) { auditLog(projectId: $p, filter: {action: \"case.import\"}) { nodes { summary } } }", json!({ "p": project }))
            .await
            .ok();
        assert_eq!(audit.data("auditLog.nodes.0.summary"), "case.import: 2000 cases");
    }
}
