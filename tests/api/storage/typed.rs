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
use tidewatch::{db_run, App};

use super::execute;
use crate::backend_test;
use crate::support::client::http_case;
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
