//! One transaction on one connection: commit, rollback, savepoints, SQLite
//! writers that do not trip over each other, and mutations that commit
//! together with their audit entry.

use diesel::sql_types::{BigInt, Text};
use diesel::QueryableByName;
use serde_json::json;
use tidewatch::db::{Conn, DbError, DbResult};
use tidewatch::{db_run, App};
use tokio::task::JoinSet;

use super::execute;
use crate::backend_test;
use crate::support::client::http_case;
use crate::support::{Backend, TestApp};

#[derive(QueryableByName)]
struct Probe {
    #[diesel(sql_type = Text)]
    id: String,
}

#[derive(QueryableByName)]
struct Counter {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn insert_probe(conn: &mut Conn, id: &str) -> DbResult<()> {
    let sql = format!("INSERT INTO tx_probe (id) VALUES ('{id}')");
    db_run!(conn, |conn| Ok(conn.batch_execute(&sql).await?))
}

async fn probe_ids(app: &App) -> Vec<String> {
    let mut conn = app.db.conn().await.expect("connection");
    let rows: DbResult<Vec<Probe>> = async {
        db_run!(&mut conn, |conn| Ok(diesel::sql_query(
            "SELECT id FROM tx_probe ORDER BY id"
        )
        .load(conn)
        .await?))
    }
    .await;
    rows.expect("probe rows")
        .into_iter()
        .map(|row| row.id)
        .collect()
}

backend_test! {
    async fn a_transaction_commits_or_rolls_back_as_a_whole(backend: Backend) {
        let app = TestApp::start(backend).await;
        let db = &app.app.db;
        execute(&app.app, "CREATE TABLE tx_probe (id TEXT PRIMARY KEY)").await;

        db.transaction(async |conn| {
            insert_probe(conn, "kept").await?;
            insert_probe(conn, "kept too").await
        })
        .await
        .expect("committed");

        // The second insert fails (duplicate key): the first goes with it.
        let failed = db
            .transaction(async |conn| {
                insert_probe(conn, "dropped").await?;
                insert_probe(conn, "kept").await
            })
            .await;
        assert!(failed.is_err_and(|error| error.is_unique_violation()));

        // Inside a transaction, a nested one is a savepoint: it rolls back alone.
        db.transaction(async |conn| {
            insert_probe(conn, "outer").await?;
            let inner: DbResult<()> = conn
                .transaction(async |conn| {
                    insert_probe(conn, "inner").await?;
                    Err(DbError::Pool("refused by the test".into()))
                })
                .await;
            assert!(inner.is_err());
            Ok::<_, DbError>(())
        })
        .await
        .expect("outer committed");

        assert_eq!(probe_ids(&app.app).await, ["kept", "kept too", "outer"]);
    }
}

async fn read_counter(conn: &mut Conn) -> DbResult<i64> {
    let row: Counter = db_run!(conn, |conn| Ok::<_, DbError>(
        diesel::sql_query("SELECT n FROM tx_counter")
            .get_result(conn)
            .await?
    ))?;
    Ok(row.n)
}

async fn write_counter(conn: &mut Conn, n: i64) -> DbResult<()> {
    let sql = format!("UPDATE tx_counter SET n = {n}");
    db_run!(conn, |conn| Ok(conn.batch_execute(&sql).await?))
}

/// Every transaction reads, then writes. Begun deferred, SQLite refuses the
/// second writer's upgrade from read to write (`SQLITE_BUSY`) whenever two
/// overlap; begun immediate, they queue for the write lock and all succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_transactions_that_read_then_write_queue_instead_of_failing() {
    let app = TestApp::start(Backend::Sqlite).await;
    execute(
        &app.app,
        "CREATE TABLE tx_counter (n BIGINT NOT NULL); INSERT INTO tx_counter (n) VALUES (0)",
    )
    .await;
    let writers = 16;
    let mut running = JoinSet::new();
    for _ in 0..writers {
        let app = app.app.clone();
        running.spawn(async move {
            app.db
                .transaction(async |conn| {
                    let n = read_counter(conn).await?;
                    tokio::task::yield_now().await;
                    write_counter(conn, n + 1).await
                })
                .await
        });
    }
    while let Some(done) = running.join_next().await {
        done.expect("writer task").expect("no busy error");
    }
    let mut conn = app.app.db.conn().await.expect("connection");
    assert_eq!(read_counter(&mut conn).await.expect("counter"), writers);
}

/// Makes every audit insert fail, as a full disk or a broken constraint would.
async fn refuse_audit_entries(app: &App, backend: Backend) {
    let sql = match backend {
        Backend::Sqlite => {
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_entries \
             BEGIN SELECT RAISE(ABORT, 'audit refused by the test'); END;"
        }
        Backend::Postgres => {
            "CREATE FUNCTION refuse_audit() RETURNS trigger AS $$ \
             BEGIN RAISE EXCEPTION 'audit refused by the test'; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_entries \
             FOR EACH ROW EXECUTE FUNCTION refuse_audit();"
        }
    };
    execute(app, sql).await;
}

backend_test! {
    async fn a_change_whose_audit_entry_fails_is_not_stored(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        let token = Some(ada.access_token.as_str());
        let project = app.create_project(&ada.access_token, "Audited").await;
        refuse_audit_entries(&app.app, backend).await;

        let case = app.create_case(&ada.access_token, http_case(&project, "Ping", "http://x/")).await;
        assert_eq!(case.code(), "INTERNAL");
        let renamed = app
            .graphql(
                token,
                "mutation($input: UpdateProjectInput!) { updateProject(input: $input) { project { name } } }",
                json!({ "input": { "id": project, "name": "Renamed" } }),
            )
            .await;
        assert_eq!(renamed.code(), "INTERNAL");
        let environment = app
            .graphql(
                token,
                "mutation($input: CreateEnvironmentInput!) { createEnvironment(input: $input) { environment { id } } }",
                json!({ "input": { "projectId": project, "name": "prod" } }),
            )
            .await;
        assert_eq!(environment.code(), "INTERNAL");
        let task = app
            .graphql(
                token,
                "mutation($input: CreateTaskInput!) { createTask(input: $input) { id } }",
                json!({ "input": { "projectId": project, "name": "nightly", "enabled": false,
                    "schedule": { "cron": "@daily" },
                    "action": { "purge": { "olderThanDays": 30, "targets": ["AUDIT"] } } } }),
            )
            .await;
        assert_eq!(task.code(), "INTERNAL");

        let state = "query($p: ID!) { project(id: $p) { name environments { id } }
            cases(projectId: $p) { totalCount } tasks(projectId: $p) { totalCount } }";
        let after = app.graphql(token, state, json!({ "p": project })).await.ok();
        assert_eq!(after.data("project.name"), "Audited");
        assert_eq!(after.data("project.environments"), &json!([]));
        assert_eq!(after.data("cases.totalCount"), 0);
        assert_eq!(after.data("tasks.totalCount"), 0);

        // With the audit trail writable again, the same change goes through.
        let allow = match backend {
            Backend::Sqlite => "DROP TRIGGER refuse_audit",
            Backend::Postgres => "DROP TRIGGER refuse_audit ON audit_entries",
        };
        execute(&app.app, allow).await;
        app.create_case(&ada.access_token, http_case(&project, "Ping", "http://x/")).await.ok();
        let after = app.graphql(token, state, json!({ "p": project })).await.ok();
        assert_eq!(after.data("cases.totalCount"), 1);
    }
}

/// How many rows `sql` (a `SELECT COUNT(*) AS n …`) counts.
async fn count(app: &App, sql: &str) -> i64 {
    let mut conn = app.db.conn().await.expect("connection");
    let row: DbResult<Counter> = async {
        db_run!(&mut conn, |conn| Ok(diesel::sql_query(sql)
            .get_result(conn)
            .await?))
    }
    .await;
    row.expect(sql).n
}

backend_test! {
    async fn admin_account_changes_and_new_projects_commit_with_their_audit_entry(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        let bob = app.register("bob").await;
        let token = Some(ada.access_token.as_str());
        let create_user = "mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }";
        let delete_user = "mutation($input: DeleteUserInput!) { deleteUser(input: $input) { deletedUserId } }";
        let eve = json!({ "input": { "username": "eve", "email": "eve@example.com", "password": "correct horse battery" } });
        let users = "SELECT COUNT(*) AS n FROM users";
        let bob_is_admin = format!("SELECT COUNT(*) AS n FROM users WHERE id = '{}' AND role = 'ADMIN'", bob.id);
        refuse_audit_entries(&app.app, backend).await;

        let project = app
            .graphql(token, "mutation { createProject(input: { name: \"Unaudited\" }) { project { id } } }", json!({}))
            .await;
        assert_eq!(project.code(), "INTERNAL");
        assert_eq!(count(&app.app, "SELECT COUNT(*) AS n FROM projects").await, 0);
        assert_eq!(count(&app.app, "SELECT COUNT(*) AS n FROM project_members").await, 0);
        assert_eq!(app.graphql(token, create_user, eve.clone()).await.code(), "INTERNAL");
        assert_eq!(count(&app.app, users).await, 2);
        let promoted = app.update_user(&ada.access_token, &bob.id, json!({ "role": "ADMIN" })).await;
        assert_eq!(promoted.code(), "INTERNAL");
        assert_eq!(count(&app.app, &bob_is_admin).await, 0);
        assert_eq!(count(&app.app, "SELECT COUNT(*) AS n FROM notifications").await, 0);
        let deleted = app.graphql(token, delete_user, json!({ "input": { "id": bob.id } })).await;
        assert_eq!(deleted.code(), "INTERNAL");
        assert_eq!(count(&app.app, users).await, 2);

        // With the audit trail writable again, each change is stored with its entry.
        let allow = match backend {
            Backend::Sqlite => "DROP TRIGGER refuse_audit",
            Backend::Postgres => "DROP TRIGGER refuse_audit ON audit_entries",
        };
        execute(&app.app, allow).await;
        app.create_project(&ada.access_token, "Audited").await;
        app.graphql(token, create_user, eve).await.ok();
        app.update_user(&ada.access_token, &bob.id, json!({ "role": "ADMIN" })).await.ok();
        assert_eq!(count(&app.app, &bob_is_admin).await, 1);
        app.graphql(token, delete_user, json!({ "input": { "id": bob.id } })).await.ok();
        let entries = |action: &str| {
            format!("SELECT COUNT(*) AS n FROM audit_entries WHERE action = '{action}' AND actor_id = '{}'", ada.id)
        };
        for action in ["project.create", "user.create", "user.update", "user.delete"] {
            assert_eq!(count(&app.app, &entries(action)).await, 1, "{action}");
        }
        let bob_entries = format!("SELECT COUNT(*) AS n FROM audit_entries WHERE object_id = '{}'", bob.id);
        assert_eq!(count(&app.app, &bob_entries).await, 2);
    }
}

backend_test! {
    async fn a_run_whose_audit_entry_fails_is_neither_stored_nor_started(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        let token = Some(ada.access_token.as_str());
        let project = app.create_project(&ada.access_token, "Runs").await;
        app.create_case(&ada.access_token, http_case(&project, "Ping", "http://127.0.0.1:9/")).await.ok();
        let start = "mutation($input: StartRunInput!) { startRun(input: $input) { run { id } } }";
        let input = json!({ "input": { "projectId": project } });
        refuse_audit_entries(&app.app, backend).await;

        assert_eq!(app.graphql(token, start, input.clone()).await.code(), "INTERNAL");
        assert_eq!(count(&app.app, "SELECT COUNT(*) AS n FROM runs").await, 0);
        assert_eq!(count(&app.app, "SELECT COUNT(*) AS n FROM run_cases").await, 0);
        assert_eq!(count(&app.app, "SELECT COUNT(*) AS n FROM run_events").await, 0);

        let allow = match backend {
            Backend::Sqlite => "DROP TRIGGER refuse_audit",
            Backend::Postgres => "DROP TRIGGER refuse_audit ON audit_entries",
        };
        execute(&app.app, allow).await;
        app.graphql(token, start, input).await.ok();
        assert_eq!(count(&app.app, "SELECT COUNT(*) AS n FROM runs").await, 1);
        assert_eq!(count(&app.app, "SELECT COUNT(*) AS n FROM audit_entries WHERE action = 'run.start'").await, 1);
    }
}
