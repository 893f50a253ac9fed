//! Typed storage: a stored value the code does not know (from a newer
//! version, or corrupted) fails the read instead of turning into a default
//! that the next save would write back.

use diesel::result::Error as QueryError;
use diesel::sql_types::Text;
use diesel::QueryableByName;
use serde_json::json;
use tidewatch::cases::model::CaseRow;
use tidewatch::db::{DbError, DbResult};
use tidewatch::projects::model::MemberRow;
use tidewatch::runs::model::RunRow;
use tidewatch::users::model::UserRow;
use tidewatch::{db_run, App};

use super::execute;
use crate::backend_test;
use crate::runs::{finished, start};
use crate::support::client::http_case;
use crate::support::target::closed_port_url;
use crate::support::{Backend, TestApp};

#[derive(QueryableByName)]
struct Stored {
    #[diesel(sql_type = Text)]
    value: String,
}

/// One text value read with raw SQL, bypassing the models.
async fn stored_text(app: &App, sql: &str) -> String {
    let mut conn = app.db.conn().await.expect("connection");
    let row: DbResult<Stored> = async {
        db_run!(&mut conn, |conn| Ok(diesel::sql_query(sql)
            .get_result(conn)
            .await?))
    }
    .await;
    row.expect(sql).value
}

fn is_unreadable<T: std::fmt::Debug>(read: &DbResult<T>) -> bool {
    matches!(
        read,
        Err(DbError::Query(QueryError::DeserializationError(_)))
    )
}

backend_test! {
    async fn unknown_stored_values_are_errors_not_defaults(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        let bob = app.register("bob").await;
        let project = app.create_project(&ada.access_token, "Typed").await;
        app.add_member(&ada.access_token, &project, &bob.id, "MEMBER").await;
        let case = app.create_case(&ada.access_token, http_case(&project, "Ping", "http://x/")).await.ok();
        let case_id = case.data("createCase.case.id").as_str().unwrap().to_owned();
        let mut conn = app.app.db.conn().await.expect("connection");

        // A role this version does not know: not quietly the weakest role, an error.
        execute(&app.app, &format!("UPDATE project_members SET role = 'AUDITOR' WHERE user_id = '{}'", bob.id)).await;
        let member = MemberRow::find(&mut conn, &project, &bob.id).await;
        assert!(is_unreadable(&member), "{member:?}");
        let seen = app
            .graphql(Some(&bob.access_token), "query($p: ID!) { project(id: $p) { myRole } }", json!({ "p": project }))
            .await;
        assert_eq!(seen.code(), "INTERNAL");

        // A case kind nobody knows: not an HTTP case.
        execute(&app.app, &format!("UPDATE cases SET kind = 'QUANTUM' WHERE id = '{case_id}'")).await;
        let read = CaseRow::find(&mut conn, &case_id).await;
        assert!(is_unreadable(&read), "{read:?}");
        let seen = app
            .graphql(Some(&ada.access_token), "query($id: ID!) { case(id: $id) { kind } }", json!({ "id": case_id }))
            .await;
        assert_eq!(seen.code(), "INTERNAL");

        // Settings that do not parse are not replaced by defaults on the next save.
        let corrupt = r#"{"maxWorkers":"many"}"#;
        execute(&app.app, &format!("UPDATE projects SET settings = '{corrupt}' WHERE id = '{project}'")).await;
        let renamed = app
            .graphql(
                Some(&ada.access_token),
                "mutation($input: UpdateProjectInput!) { updateProject(input: $input) { project { name } } }",
                json!({ "input": { "id": project, "name": "Renamed" } }),
            )
            .await;
        assert_eq!(renamed.code(), "INTERNAL");
        let sql = format!("SELECT settings AS value FROM projects WHERE id = '{project}'");
        assert_eq!(stored_text(&app.app, &sql).await, corrupt);
        let sql = format!("SELECT name AS value FROM projects WHERE id = '{project}'");
        assert_eq!(stored_text(&app.app, &sql).await, "Typed");
    }
}

backend_test! {
    async fn unknown_account_roles_and_run_enums_are_errors_not_defaults(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        let bob = app.register("bob").await;
        let project = app.create_project(&ada.access_token, "Typed runs").await;
        app.create_case(&ada.access_token, http_case(&project, "Closed", &closed_port_url())).await.ok();
        let run_id = start(&app, &ada.access_token, json!({ "projectId": project })).await;
        finished(&app, &ada.access_token, &run_id).await;
        let run_query = "query($id: ID!) { run(id: $id) { status trigger } }";
        let results_query = "query($id: ID!) { run(id: $id) { results { edges { node { kind status } } } } }";
        let read_run = |query: &'static str| {
            app.graphql(Some(&ada.access_token), query, json!({ "id": run_id }))
        };

        // A global role this version does not know: not quietly USER (nor ADMIN), an error.
        execute(&app.app, &format!("UPDATE users SET role = 'AUDITOR' WHERE id = '{}'", bob.id)).await;
        let bob_row = UserRow::find_by_id(&mut app.app.db.conn().await.expect("connection"), &bob.id).await;
        assert!(is_unreadable(&bob_row), "{bob_row:?}");
        assert_eq!(app.me(&bob.access_token).await.code(), "INTERNAL");
        let edit = app.update_user(&ada.access_token, &bob.id, json!({ "active": false })).await;
        assert_eq!(edit.code(), "INTERNAL");
        let sql = format!("SELECT role AS value FROM users WHERE id = '{}'", bob.id);
        assert_eq!(stored_text(&app.app, &sql).await, "AUDITOR");

        // A run status or trigger nobody knows: not ERROR, not MANUAL.
        execute(&app.app, &format!("UPDATE runs SET status = 'ARCHIVED' WHERE id = '{run_id}'")).await;
        let run = RunRow::find(&mut app.app.db.conn().await.unwrap(), &run_id).await;
        assert!(is_unreadable(&run), "{run:?}");
        assert_eq!(read_run(run_query).await.code(), "INTERNAL");
        execute(&app.app, &format!("UPDATE runs SET status = 'ERROR', trigger_kind = 'WEBHOOK' WHERE id = '{run_id}'")).await;
        assert_eq!(read_run(run_query).await.code(), "INTERNAL");
        execute(&app.app, &format!("UPDATE runs SET trigger_kind = 'MANUAL' WHERE id = '{run_id}'")).await;
        read_run(run_query).await.ok();

        // A case result status or a run case kind nobody knows.
        execute(&app.app, &format!("UPDATE run_cases SET status = 'FLAKY' WHERE run_id = '{run_id}'")).await;
        assert_eq!(read_run(results_query).await.code(), "INTERNAL");
        execute(&app.app, &format!("UPDATE run_cases SET status = 'ERROR', kind = 'QUANTUM' WHERE run_id = '{run_id}'")).await;
        assert_eq!(read_run(results_query).await.code(), "INTERNAL");
        let sql = format!("SELECT kind AS value FROM run_cases WHERE run_id = '{run_id}'");
        assert_eq!(stored_text(&app.app, &sql).await, "QUANTUM");
    }
}
