//! A real node per test: fresh database, real HTTP server, real WebSockets.
//!
//! Every storage test runs on SQLite, and on PostgreSQL when
//! `TEST_DATABASE_URL` is set (each test gets its own database, a copy of a
//! template migrated once per test process: see `template`). The PostgreSQL
//! variant uses Redis for events when `TEST_REDIS_URL` is set.

pub mod client;
pub mod target;
mod template;
pub mod wait;
pub mod websocket;

use std::sync::Arc;

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use poem::listener::{Acceptor, Listener, TcpListener};
use tempfile::TempDir;
use tidewatch::{App, Config};
use tokio::sync::oneshot;

/// Signing key used by test nodes, so tests can forge and expire tokens.
pub const TEST_JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";

/// Which storage a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server for tests, if configured.
pub fn postgres_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
}

/// The Redis server for tests, if configured.
pub fn redis_url() -> Option<String> {
    std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|url| !url.is_empty())
}

/// Runs `$name` once per available backend: `$name::sqlite` always,
/// `$name::postgres` when `TEST_DATABASE_URL` is set.
#[macro_export]
macro_rules! backend_test {
    ($(#[$meta:meta])* async fn $name:ident($backend:ident: Backend) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(#[$meta])*
            async fn run($backend: Backend) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::support::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::support::postgres_url().is_none() {
                    eprintln!("TEST_DATABASE_URL is not set; PostgreSQL variant not run");
                    return;
                }
                run($crate::support::Backend::Postgres).await;
            }
        }
    };
}

/// A database made for one test; a PostgreSQL one is dropped afterwards.
pub struct TestDatabase {
    pub url: String,
    postgres_name: Option<(String, String)>,
    _dir: Arc<TempDir>,
}

impl TestDatabase {
    /// A fresh database on `backend`, migrated (a copy of the process's template).
    pub async fn create(backend: Backend) -> Self {
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        match backend {
            Backend::Sqlite => {
                let path = dir.path().join("test.db");
                template::copy_sqlite_template(&path).await;
                Self {
                    url: format!("sqlite://{}", path.display()),
                    postgres_name: None,
                    _dir: dir,
                }
            }
            Backend::Postgres => {
                let admin_url = postgres_url().expect("TEST_DATABASE_URL");
                let name = template::create_postgres_database(&admin_url).await;
                Self {
                    url: with_database_name(&admin_url, &name),
                    postgres_name: Some((admin_url, name)),
                    _dir: dir,
                }
            }
        }
    }

    /// Drops a PostgreSQL test database now, cutting its connections (for outage tests).
    pub async fn drop_now(&self) {
        if let Some((admin_url, name)) = &self.postgres_name {
            drop_postgres_database(admin_url, name).await;
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.postgres_name.take() {
            // Drop runs inside the test's runtime; use a thread with its own.
            let _ = std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(drop_postgres_database(&admin_url, &name));
            })
            .join();
        }
    }
}

async fn drop_postgres_database(admin_url: &str, name: &str) {
    if let Ok(mut conn) = AsyncPgConnection::establish(admin_url).await {
        let _ = conn
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
    }
}

/// `postgres://host/db?x` with the database name replaced.
fn with_database_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

/// A running node.
pub struct TestApp {
    pub app: Arc<App>,
    pub address: String,
    pub database: Arc<TestDatabase>,
    http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    _data_dir: TempDir,
}

/// A change a test makes to the node's configuration.
type ConfigChange = Box<dyn FnOnce(&mut Config) + Send>;

/// How to start a node.
pub struct TestAppBuilder {
    backend: Backend,
    database: Option<Arc<TestDatabase>>,
    redis: bool,
    adjust: Vec<ConfigChange>,
}

impl TestAppBuilder {
    /// Shares another node's database (for multi-node tests).
    pub fn database(mut self, database: Arc<TestDatabase>) -> Self {
        self.database = Some(database);
        self
    }

    /// Uses Redis for events (requires `TEST_REDIS_URL`).
    pub fn with_redis(mut self) -> Self {
        self.redis = true;
        self
    }

    /// Changes the configuration before the node starts.
    pub fn config(mut self, adjust: impl FnOnce(&mut Config) + Send + 'static) -> Self {
        self.adjust.push(Box::new(adjust));
        self
    }

    /// Builds the node and serves it on a free loopback port.
    pub async fn start(self) -> TestApp {
        let database = match self.database {
            Some(database) => database,
            None => Arc::new(TestDatabase::create(self.backend).await),
        };
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::with_data_dir(data_dir.path());
        config.database_url = Some(database.url.clone());
        config.redis_url = None;
        if self.redis || self.backend == Backend::Postgres {
            config.redis_url = redis_url();
        }
        if self.redis {
            assert!(config.redis_url.is_some(), "this test needs TEST_REDIS_URL");
        }
        config.auth.jwt_secret = Some(TEST_JWT_SECRET.to_owned());
        // Every test logs in from 127.0.0.1 with the same few names, and with Redis the
        // counters are shared between tests; the limits have tests of their own.
        config.auth.login_limit_per_address = 100_000;
        config.auth.login_limit_per_name = 100_000;
        config.auth.register_limit_per_address = 100_000;
        config.database.db_pool_size = 4;
        // Background probes and sampling would add statements to every test; monitor tests turn it on.
        config.monitor.monitor_enabled = false;
        for adjust in self.adjust {
            adjust(&mut config);
        }
        let app = App::build(config).await.expect("build app");
        let acceptor = TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .expect("bind");
        let address = acceptor.local_addr()[0]
            .as_socket_addr()
            .expect("tcp address")
            .to_string();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(tidewatch::http::serve_on(app.clone(), acceptor, async {
            let _ = stopped.await;
        }));
        TestApp {
            app,
            address,
            database,
            http: reqwest::Client::new(),
            stop: Some(stop),
            server: Some(tokio::spawn(async move {
                server.await.expect("server task").expect("server");
            })),
            _data_dir: data_dir,
        }
    }
}

impl TestApp {
    /// A builder for a node on `backend`.
    pub fn builder(backend: Backend) -> TestAppBuilder {
        TestAppBuilder {
            backend,
            database: None,
            redis: false,
            adjust: Vec::new(),
        }
    }

    /// A node on `backend` with the default test configuration.
    pub async fn start(backend: Backend) -> Self {
        Self::builder(backend).start().await
    }

    /// `http://address/path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// The shared HTTP client.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Waits until `count` subscriptions to event `topic` are live on this node.
    ///
    /// A subscription sent over a WebSocket reaches the event bus a moment after
    /// the message is sent, and only what is published after that reaches it.
    pub async fn subscribed_to(&self, topic: &str, count: usize) {
        wait::until(&format!("{count} subscriptions to {topic}"), || async {
            let live = self.app.bus.subscribers(topic);
            if live >= count {
                Ok(())
            } else {
                Err(live)
            }
        })
        .await;
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server stopped cleanly");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

#[test]
fn database_names_are_replaced_in_urls() {
    assert_eq!(
        with_database_name("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
        "postgres://postgres@127.0.0.1:5432/t1"
    );
    assert_eq!(
        with_database_name("postgres://u:p@h/db?sslmode=disable", "t1"),
        "postgres://u:p@h/t1?sslmode=disable"
    );
    assert_eq!(with_database_name("postgres://h", "t1"), "postgres://h/t1");
}
