//! Storage: one pool over SQLite or PostgreSQL, picked by the URL scheme.
//!
//! diesel-async has no async multi-backend connection, so [`Database`] is an
//! enum of two pools, a [`Conn`] is a connection of either, and
//! [`db_run!`](crate::db_run) compiles one query body once per backend. Column
//! types are portable (TEXT ids, TIMESTAMP, BOOLEAN); enums and JSON are
//! stored as text through typed impls ([`stored`]); timestamps are set from
//! Rust so both backends store the same values.

mod conn;
pub mod schema;
pub mod stored;

pub use conn::{BackendConn, Conn, TransactionBody};

use std::time::Duration;

use anyhow::Context;
use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// SQLite connection as seen by diesel-async.
pub type SqliteConn = SyncConnectionWrapper<SqliteConnection>;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Settings applied to every SQLite connection: WAL for concurrent readers,
/// a busy timeout instead of instant lock errors, and enforced foreign keys.
/// The busy timeout comes first: switching to WAL needs a lock another connection may hold.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";

/// Advisory lock held while PostgreSQL migrations run.
const MIGRATION_LOCK_KEY: i64 = 0x7469_6465_7761;

/// How long a request waits for a free connection before failing.
const POOL_WAIT_TIMEOUT: Duration = Duration::from_secs(10);

/// A failure to reach the database or to run a statement.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be had from the pool.
    #[error("database pool: {0}")]
    Pool(String),
    /// A statement failed.
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

impl DbError {
    /// True when the statement broke a unique constraint.
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            Self::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }
}

/// Result of a storage call.
pub type DbResult<T> = Result<T, DbError>;

/// The node's database: a pool on one of the two backends, and what it counts.
#[derive(Clone)]
pub struct Database {
    /// The pool; [`Database::conn`] checks connections out of it.
    pub pools: Pools,
    counters: Counters,
}

/// A pool on one of the two backends.
#[derive(Clone)]
pub enum Pools {
    /// The embedded default.
    Sqlite(Pool<SqliteConn>),
    /// For several nodes.
    Postgres(Pool<AsyncPgConnection>),
}

/// Counts every SQL statement the node's connections run (tests check N+1 with it).
#[derive(Clone, Default)]
struct StatementCounter(Arc<AtomicU64>);

impl Instrumentation for StatementCounter {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { .. } = event {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Statements run and connections checked out, for tests and measurements.
#[derive(Clone, Default)]
struct Counters {
    statements: StatementCounter,
    checkouts: Arc<AtomicU64>,
}

impl Counters {
    fn count_checkout(&self) {
        self.checkouts.fetch_add(1, Ordering::Relaxed);
    }
}

/// Which backend a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite://path` (or `sqlite:path`, `file:path`).
    Sqlite,
    /// `postgres://…` or `postgresql://…`.
    Postgres,
}

impl Backend {
    /// Picks the backend from the URL scheme.
    pub fn from_url(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else if url.starts_with("sqlite:") || url.starts_with("file:") {
            Ok(Self::Sqlite)
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite:// or postgres://")
        }
    }
}

/// Turns `sqlite://path` into the path SQLite opens.
fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

impl Database {
    /// Runs pending migrations, then opens a pool of at most `max_size` connections.
    pub async fn connect(url: &str, max_size: usize) -> anyhow::Result<Self> {
        let counters = Counters::default();
        let statements = counters.statements.clone();
        let pools = match Backend::from_url(url)? {
            Backend::Sqlite => {
                let path = sqlite_path(url).to_owned();
                if let Some(parent) = std::path::Path::new(&path).parent() {
                    if !parent.as_os_str().is_empty() {
                        std::fs::create_dir_all(parent)
                            .with_context(|| format!("creating {}", parent.display()))?;
                    }
                }
                migrate_sqlite(path.clone()).await?;
                let mut manager_config = ManagerConfig::default();
                // Broken connections are detected without a `SELECT 1` per checkout.
                manager_config.recycling_method = RecyclingMethod::Fast;
                let counter = statements.clone();
                manager_config.custom_setup = Box::new(move |url| {
                    let url = url.to_owned();
                    let counter = counter.clone();
                    Box::pin(async move {
                        let mut conn = SqliteConn::establish(&url).await?;
                        conn.batch_execute(SQLITE_PRAGMAS)
                            .await
                            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                        conn.set_instrumentation(counter);
                        Ok(conn)
                    })
                });
                let manager = AsyncDieselConnectionManager::new_with_config(path, manager_config);
                let pool = Pool::builder(manager)
                    .max_size(max_size)
                    .wait_timeout(Some(POOL_WAIT_TIMEOUT))
                    .runtime(deadpool::Runtime::Tokio1)
                    .build()
                    .context("building the SQLite pool")?;
                Pools::Sqlite(pool)
            }
            Backend::Postgres => {
                migrate_postgres(url.to_owned()).await?;
                let mut manager_config = ManagerConfig::default();
                // Broken connections are detected without a `SELECT 1` per checkout.
                manager_config.recycling_method = RecyclingMethod::Fast;
                let counter = statements.clone();
                manager_config.custom_setup = Box::new(move |url| {
                    let url = url.to_owned();
                    let counter = counter.clone();
                    Box::pin(async move {
                        let mut conn = AsyncPgConnection::establish(&url).await?;
                        conn.set_instrumentation(counter);
                        Ok(conn)
                    })
                });
                let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
                    url,
                    manager_config,
                );
                let pool = Pool::builder(manager)
                    .max_size(max_size)
                    .wait_timeout(Some(POOL_WAIT_TIMEOUT))
                    .create_timeout(Some(POOL_WAIT_TIMEOUT))
                    .runtime(deadpool::Runtime::Tokio1)
                    .build()
                    .context("building the PostgreSQL pool")?;
                Pools::Postgres(pool)
            }
        };
        Ok(Self { pools, counters })
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        match &self.pools {
            Pools::Sqlite(_) => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// SQL statements run so far by this node's connections.
    pub fn statements_run(&self) -> u64 {
        self.counters.statements.0.load(Ordering::Relaxed)
    }

    /// Connections checked out of the pool so far.
    pub fn checkouts(&self) -> u64 {
        self.counters.checkouts.load(Ordering::Relaxed)
    }

    /// Answers whether the database can run a statement now.
    pub async fn ping(&self) -> DbResult<()> {
        let mut conn = self.conn().await?;
        crate::db_run!(&mut conn, |conn| {
            conn.batch_execute("SELECT 1").await?;
            Ok(())
        })
    }

    /// Connections in use and idle, for the metrics endpoint.
    pub fn pool_usage(&self) -> (usize, usize) {
        let status = match &self.pools {
            Pools::Sqlite(pool) => pool.status(),
            Pools::Postgres(pool) => pool.status(),
        };
        let idle = status.available;
        (status.size.saturating_sub(idle), idle)
    }
}

/// `(?,?,…),(?,?,…),…`: `rows` groups of `columns` placeholders, the `VALUES`
/// list of a multi-row statement on SQLite (which diesel builds only for
/// synchronous connections).
pub fn placeholders(rows: usize, columns: usize) -> String {
    let row = format!("({})", vec!["?"; columns].join(","));
    vec![row; rows].join(",")
}

/// The current time as both backends store it: UTC, whole microseconds.
pub fn now() -> chrono::NaiveDateTime {
    let now = chrono::Utc::now().naive_utc();
    chrono::DurationRound::duration_trunc(now, chrono::TimeDelta::microseconds(1)).unwrap_or(now)
}

async fn migrate_sqlite(path: String) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut conn = SqliteConnection::establish(&path)
            .with_context(|| format!("opening SQLite database {path}"))?;
        diesel::connection::SimpleConnection::batch_execute(&mut conn, SQLITE_PRAGMAS)?;
        conn.run_pending_migrations(SQLITE_MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("SQLite migrations failed: {e}"))?;
        Ok(())
    })
    .await?
}

async fn migrate_postgres(url: String) -> anyhow::Result<()> {
    let conn = AsyncPgConnection::establish(&url)
        .await
        .context("connecting to PostgreSQL")?;
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut conn: AsyncConnectionWrapper<AsyncPgConnection> = conn.into();
        // Nodes starting together on a fresh database must not migrate twice.
        diesel::connection::SimpleConnection::batch_execute(
            &mut conn,
            &format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"),
        )?;
        let outcome = conn
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("PostgreSQL migrations failed: {e}"));
        diesel::connection::SimpleConnection::batch_execute(
            &mut conn,
            &format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"),
        )?;
        outcome
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::placeholders;

    #[test]
    fn placeholders_have_one_group_per_row() {
        assert_eq!(placeholders(2, 3), "(?,?,?),(?,?,?)");
    }
}
