//! Configuration, read from flags and environment variables.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `TIDEWATCH_BIND` | `127.0.0.1:8000` | address the HTTP server listens on |
//! | `TIDEWATCH_DATA_DIR` | `./data` | holds the SQLite file and generated keys |
//! | `DATABASE_URL` | `sqlite://<data dir>/tidewatch.db` | `sqlite://…` or `postgres://…` |
//! | `REDIS_URL` | unset (in-process events) | Redis for events shared between nodes and rate limits |
//! | `TIDEWATCH_JWT_SECRET` | generated into the data dir | HS256 signing key; nodes sharing a database must share it |
//! | `TIDEWATCH_LOG_FORMAT` | `text` | `text` or `json` |
//! | `TIDEWATCH_CORS_ORIGINS` | none | browser origins allowed to call the API (comma list, or `*`) |
//! | `TIDEWATCH_EGRESS_DENY` | link-local and cloud metadata ([`DEFAULT_DENY`]) | CIDR blocks outbound connections made for users must not reach |
//! | `TIDEWATCH_EGRESS_ALLOW` | empty (no restriction) | when set, the only CIDR blocks outbound connections made for users may reach (DENY still wins) |
//!
//! The other knobs (token lifetimes, limits, registration, who may create
//! projects) are listed in the README; each has a flag of the same name in
//! kebab case.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::egress::{CidrList, DEFAULT_DENY};

/// Default address of the HTTP server.
pub const DEFAULT_BIND: &str = "127.0.0.1:8000";
/// Name of the SQLite file inside the data directory.
pub const SQLITE_FILE_NAME: &str = "tidewatch.db";

/// Everything a node needs to start.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address the HTTP server listens on.
    #[arg(long, env = "TIDEWATCH_BIND", default_value = DEFAULT_BIND)]
    pub bind: SocketAddr,
    /// Directory for the SQLite file and generated keys.
    #[arg(long, env = "TIDEWATCH_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Database URL: `sqlite://path` or `postgres://…`. Default: SQLite in the data dir.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Redis URL. When set, events travel through Redis pub/sub and rate limits live in Redis.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// Log format.
    #[arg(long, env = "TIDEWATCH_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub auth: AuthConfig,
    #[command(flatten)]
    pub limits: LimitsConfig,
    #[command(flatten)]
    pub database: DatabaseConfig,
    #[command(flatten)]
    pub secrets: SecretsConfig,
    #[command(flatten)]
    pub monitor: MonitorConfig,
    #[command(flatten)]
    pub cors: CorsConfig,
    #[command(flatten)]
    pub egress: EgressConfig,
}

/// Which other origins' browser pages may call the API.
#[derive(Debug, Clone, Args)]
pub struct CorsConfig {
    /// Origins allowed to call `/graphql` and the REST paths from a browser, comma-separated
    /// (`https://app.example.com`), or `*` for any. Default: none (same origin only).
    #[arg(long, env = "TIDEWATCH_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
}

/// Which addresses outbound connections made for users (HTTP cases and their
/// redirects, probes, connection tests, OpenAPI fetches) may reach; see `egress`.
#[derive(Debug, Clone, Args)]
pub struct EgressConfig {
    /// Comma-separated CIDR blocks (or addresses) never connected to for a user;
    /// wins over the allow list. Setting it replaces the default list; empty denies nothing.
    #[arg(long, env = "TIDEWATCH_EGRESS_DENY", default_value = DEFAULT_DENY, value_parser = CidrList::parse)]
    pub egress_deny: CidrList,
    /// Comma-separated CIDR blocks (or addresses); when not empty, connections made for a
    /// user reach only these (minus the deny list).
    #[arg(long, env = "TIDEWATCH_EGRESS_ALLOW", default_value = "", value_parser = CidrList::parse)]
    pub egress_allow: CidrList,
}

/// The monitor: host sampling, probes, alert evaluation and retention.
#[derive(Debug, Clone, Args)]
pub struct MonitorConfig {
    /// Whether this node samples itself and takes part in probing servers and evaluating
    /// alert rules (work it shares with the other nodes on the same database).
    #[arg(long, env = "TIDEWATCH_MONITOR_ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    pub monitor_enabled: bool,
    /// How often this node samples its own host metrics, in milliseconds.
    #[arg(long, env = "TIDEWATCH_HOST_SAMPLE_MS", default_value_t = 10_000)]
    pub host_sample_ms: u64,
    /// How often due probes are started and alert rules evaluated, in milliseconds.
    #[arg(long, env = "TIDEWATCH_MONITOR_TICK_MS", default_value_t = 1_000)]
    pub monitor_tick_ms: u64,
    /// Shortest probe interval a server may have, in seconds.
    #[arg(long, env = "TIDEWATCH_MIN_PROBE_INTERVAL", default_value_t = 5)]
    pub min_probe_interval: u32,
    /// Upper bound of one probe, in milliseconds.
    #[arg(long, env = "TIDEWATCH_PROBE_TIMEOUT_MS", default_value_t = 5_000)]
    pub probe_timeout_ms: u64,
    /// Probes running at once.
    #[arg(long, env = "TIDEWATCH_PROBE_CONCURRENCY", default_value_t = 64)]
    pub probe_concurrency: usize,
    /// How long raw samples are kept, in hours.
    #[arg(long, env = "TIDEWATCH_RAW_RETENTION_HOURS", default_value_t = 24)]
    pub raw_retention_hours: u32,
    /// How long 1-minute rollups are kept, in days.
    #[arg(long, env = "TIDEWATCH_MINUTE_RETENTION_DAYS", default_value_t = 7)]
    pub minute_retention_days: u32,
    /// How long 1-hour rollups are kept, in days.
    #[arg(long, env = "TIDEWATCH_HOUR_RETENTION_DAYS", default_value_t = 90)]
    pub hour_retention_days: u32,
}

/// Keys for secrets stored in the database (credentials, secret variables).
#[derive(Debug, Clone, Args)]
pub struct SecretsConfig {
    /// Base64 32-byte key sealing stored secrets. Unset: generated once into the data directory.
    #[arg(long, env = "TIDEWATCH_CREDENTIAL_KEY", hide_env_values = true)]
    pub credential_key: Option<String>,
    /// The key in use before a rotation; values sealed with it still open and are resealed.
    #[arg(
        long,
        env = "TIDEWATCH_PREVIOUS_CREDENTIAL_KEY",
        hide_env_values = true
    )]
    pub previous_credential_key: Option<String>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Accounts and tokens.
#[derive(Debug, Clone, Args)]
pub struct AuthConfig {
    /// HS256 signing key. Unset: generated once into the data directory.
    #[arg(long, env = "TIDEWATCH_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Lifetime of access tokens, in seconds.
    #[arg(long, env = "TIDEWATCH_ACCESS_TOKEN_TTL", default_value_t = 900)]
    pub access_token_ttl: u64,
    /// Lifetime of refresh tokens, in seconds.
    #[arg(long, env = "TIDEWATCH_REFRESH_TOKEN_TTL", default_value_t = 604_800)]
    pub refresh_token_ttl: u64,
    /// Whether anyone may register. When false, only admins create users.
    #[arg(long, env = "TIDEWATCH_ALLOW_REGISTRATION", default_value_t = true, action = clap::ArgAction::Set)]
    pub allow_registration: bool,
    /// Login attempts allowed per account within the rate window, whether it is named by
    /// username or email (a name that matches no account is counted on its own).
    #[arg(long, env = "TIDEWATCH_LOGIN_LIMIT_PER_NAME", default_value_t = 10)]
    pub login_limit_per_name: u32,
    /// Login attempts allowed per client address within the rate window.
    #[arg(long, env = "TIDEWATCH_LOGIN_LIMIT_PER_ADDRESS", default_value_t = 50)]
    pub login_limit_per_address: u32,
    /// Length of the login rate window, in seconds.
    #[arg(long, env = "TIDEWATCH_LOGIN_WINDOW", default_value_t = 300)]
    pub login_window: u64,
    /// Once an account is over its login limit, one password check per this many seconds
    /// is still made for it, so its owner can log in; every other attempt is `RATE_LIMITED`.
    #[arg(long, env = "TIDEWATCH_LOGIN_LOCKOUT_PACE", default_value_t = 10)]
    pub login_lockout_pace: u64,
    /// Registrations allowed per client address within the registration window.
    #[arg(
        long,
        env = "TIDEWATCH_REGISTER_LIMIT_PER_ADDRESS",
        default_value_t = 20
    )]
    pub register_limit_per_address: u32,
    /// Length of the registration rate window, in seconds.
    #[arg(long, env = "TIDEWATCH_REGISTER_WINDOW", default_value_t = 3600)]
    pub register_window: u64,
    /// Password hashes and checks computed at once (each holds 19 MiB); more wait their
    /// turn. Unset: one per core.
    #[arg(long, env = "TIDEWATCH_PASSWORD_HASH_CONCURRENCY")]
    pub password_hash_concurrency: Option<usize>,
    /// How long a checked session (token family and user) is trusted before it is
    /// read again, in seconds; 0 reads it on every request. Logout, revocation and
    /// account changes clear it on every node at once (several nodes need Redis).
    #[arg(long, env = "TIDEWATCH_SESSION_CACHE_SECONDS", default_value_t = 5)]
    pub session_cache_seconds: u64,
    /// Who may create projects: `everyone` or `admins`.
    #[arg(long, env = "TIDEWATCH_PROJECT_CREATION", value_enum, default_value_t = ProjectCreation::Everyone)]
    pub project_creation: ProjectCreation,
}

/// Who may create projects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProjectCreation {
    /// Every signed-in user.
    Everyone,
    /// Admins only; others are `FORBIDDEN`.
    Admins,
}

/// Bounds on what one request may ask of the server.
#[derive(Debug, Clone, Args)]
pub struct LimitsConfig {
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "TIDEWATCH_MAX_BODY_BYTES", default_value_t = 1_048_576)]
    pub max_body_bytes: usize,
    /// Largest accepted multipart upload (case imports), in bytes.
    #[arg(long, env = "TIDEWATCH_MAX_UPLOAD_BYTES", default_value_t = 16 * 1_048_576)]
    pub max_upload_bytes: usize,
    /// Deepest accepted GraphQL selection.
    #[arg(long, env = "TIDEWATCH_MAX_QUERY_DEPTH", default_value_t = 15)]
    pub max_query_depth: usize,
    /// Highest accepted GraphQL query complexity; a batch's operations share it.
    #[arg(long, env = "TIDEWATCH_MAX_QUERY_COMPLEXITY", default_value_t = 2_000)]
    pub max_query_complexity: usize,
    /// Deepest nesting of brackets, braces and parentheses in a GraphQL document,
    /// checked before it is parsed.
    #[arg(long, env = "TIDEWATCH_MAX_QUERY_NESTING", default_value_t = 64)]
    pub max_query_nesting: usize,
    /// Most operations in one batched request.
    #[arg(long, env = "TIDEWATCH_MAX_BATCH_OPERATIONS", default_value_t = 10)]
    pub max_batch_operations: usize,
    /// How long DataLoaders gather keys before querying, in milliseconds.
    #[arg(long, env = "TIDEWATCH_BATCH_WINDOW_MS", default_value_t = 2)]
    pub batch_window_ms: u64,
}

/// Connection pool settings.
#[derive(Debug, Clone, Args)]
pub struct DatabaseConfig {
    /// Most open database connections per node.
    #[arg(long, env = "TIDEWATCH_DB_POOL_SIZE", default_value_t = 16)]
    pub db_pool_size: usize,
}

impl Config {
    /// The database URL in force: the configured one, or the SQLite file in the data directory.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}",
                self.data_dir.join(SQLITE_FILE_NAME).display()
            ),
        }
    }

    /// A configuration with every default, for a node whose data lives in `data_dir`.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        #[derive(clap::Parser)]
        struct Defaults {
            #[command(flatten)]
            config: Config,
        }
        let mut config = <Defaults as clap::Parser>::parse_from(["tidewatch"]).config;
        config.data_dir = data_dir.into();
        config
    }
}
