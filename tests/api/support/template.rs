//! Migrated template databases: each backend's schema is migrated once per
//! test process, and every test gets its own copy.
//!
//! - PostgreSQL: the schema is migrated into `tidewatch_test_<run>_template`,
//!   which is then marked `IS_TEMPLATE` and closed to connections; each test's
//!   database, `tidewatch_test_<run>_<id>`, is `CREATE DATABASE … TEMPLATE` of
//!   it. PostgreSQL refuses to copy a database while any session is connected
//!   to it, so the template's connections are closed before the first copy and
//!   copies are made one at a time. `<run>` names the test process: while it
//!   lives, a connection on a thread of its own holds an advisory lock on it,
//!   so a later process (or `.ci/run`) that can take the lock knows the run is
//!   over and drops what it left behind, and never touches a live run's
//!   databases.
//! - SQLite: the schema is migrated into a file whose bytes are kept in memory
//!   and written out as each test's database file.

use std::sync::OnceLock;

use tokio::sync::{Mutex, OnceCell};
use tokio_postgres::{Client, NoTls};

use super::with_database_name;

/// Prefix of every test database; `.ci/run` drops those of runs that are over.
const PREFIX: &str = "tidewatch_test_";

/// The first key of a run's advisory lock (the second is `hashtext(<run>)`);
/// `.ci/run` takes the same lock.
const LOCK_KEY: &str = "tidewatch_test";

/// This test process's part of its databases' names.
fn run() -> &'static str {
    static RUN: OnceLock<String> = OnceLock::new();
    RUN.get_or_init(|| uuid::Uuid::new_v4().simple().to_string()[..16].to_owned())
}

/// The SQLite template's bytes, once migrated.
static SQLITE_TEMPLATE: OnceCell<Vec<u8>> = OnceCell::const_new();

/// The PostgreSQL template's name, once migrated.
static POSTGRES_TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// Held while a test's database is copied from the template.
fn copying() -> &'static Mutex<()> {
    static COPYING: OnceLock<Mutex<()>> = OnceLock::new();
    COPYING.get_or_init(|| Mutex::new(()))
}

/// Writes a migrated SQLite database to `path`.
pub async fn copy_sqlite_template(path: &std::path::Path) {
    let bytes = SQLITE_TEMPLATE.get_or_init(migrate_sqlite_template).await;
    tokio::fs::write(path, bytes)
        .await
        .expect("write the test database");
}

async fn migrate_sqlite_template() -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("template.db");
    let database = tidewatch::db::Database::connect(&format!("sqlite://{}", path.display()), 1)
        .await
        .expect("migrate the SQLite template");
    // Only the migration's own connection was opened, and it is closed: the
    // write-ahead log has been checkpointed into the file.
    drop(database);
    let wal = dir.path().join("template.db-wal");
    assert!(
        !wal.exists(),
        "the SQLite template's log was not checkpointed"
    );
    tokio::fs::read(&path)
        .await
        .expect("read the SQLite template")
}

/// Creates a PostgreSQL database as a copy of the migrated template; its name.
pub async fn create_postgres_database(admin_url: &str) -> String {
    let template = POSTGRES_TEMPLATE
        .get_or_init(|| migrate_postgres_template(admin_url.to_owned()))
        .await;
    let name = format!(
        "{PREFIX}{}_{}",
        run(),
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    );
    let admin = connect(admin_url).await;
    let _copying = copying().lock().await;
    admin
        .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
        .await
        .unwrap_or_else(|error| panic!("copy {template} to {name}: {error}"));
    name
}

/// Makes the template on a thread of its own, which then stays parked holding
/// the advisory lock that marks this run's databases as in use, until the process ends.
async fn migrate_postgres_template(admin_url: String) -> String {
    let (made, template) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("postgres template".to_owned())
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(async move {
                    let admin = connect(&admin_url).await;
                    // Locked before any of the run's databases exists, so no other
                    // process ever sees one of them unlocked.
                    admin
                        .query_one(
                            "SELECT pg_advisory_lock(hashtext($1), hashtext($2))",
                            &[&LOCK_KEY, &run()],
                        )
                        .await
                        .expect("lock the run");
                    drop_finished_runs(&admin).await;
                    let name = format!("{PREFIX}{}_template", run());
                    admin
                        .batch_execute(&format!("CREATE DATABASE {name}"))
                        .await
                        .expect("create the template");
                    let url = with_database_name(&admin_url, &name);
                    let database = tidewatch::db::Database::connect(&url, 1)
                        .await
                        .expect("migrate the PostgreSQL template");
                    drop(database);
                    admin
                        .batch_execute(&format!(
                            "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false IS_TEMPLATE true"
                        ))
                        .await
                        .expect("mark the template");
                    admin
                        .execute(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                            &[&name],
                        )
                        .await
                        .expect("close the template's connections");
                    let _ = made.send(name);
                    std::future::pending::<()>().await;
                });
        })
        .expect("spawn the template thread");
    template.await.expect("the PostgreSQL template was made")
}

/// Drops the databases of test runs that are over (their lock is free).
async fn drop_finished_runs(admin: &Client) {
    let pattern = format!("^{PREFIX}[0-9a-f]{{16}}_");
    let names: Vec<(String, String)> = admin
        .query(
            "SELECT datname, split_part(datname, '_', 3) FROM pg_database \
             WHERE datname ~ $1 AND split_part(datname, '_', 3) <> $2",
            &[&pattern, &run()],
        )
        .await
        .expect("list test databases")
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    for (name, run) in names {
        let row = admin
            .query_one(
                "SELECT pg_try_advisory_lock(hashtext($1), hashtext($2))",
                &[&LOCK_KEY, &run],
            )
            .await
            .expect("try a run's lock");
        if !row.get::<_, bool>(0) {
            continue;
        }
        // Two statements: DROP DATABASE refuses to run inside a (multi-statement) transaction.
        let _ = admin
            .batch_execute(&format!("ALTER DATABASE {name} IS_TEMPLATE false"))
            .await;
        let _ = admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
        let _ = admin
            .query_one(
                "SELECT pg_advisory_unlock(hashtext($1), hashtext($2))",
                &[&LOCK_KEY, &run],
            )
            .await;
    }
}

/// A connection to the PostgreSQL server, driven on the current runtime.
async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("connect to TEST_DATABASE_URL");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}
