//! Connection probes: test a configured server for real and say what happened.
//!
//! [`probe`] never panics and never returns an error: every failure becomes a
//! [`ProbeOutcome`] with a [`ProbeErrorKind`] and a human message. The whole
//! probe, name resolution included, is bounded by [`ProbeTarget::timeout`].
//! Every connection obeys the target's egress policy: names are resolved and
//! checked here, and clients are handed the permitted addresses only.
//! Passwords (the target's, and one written into an HTTP URL) are scrubbed
//! from every message.

//!
//! One file per kind of target (`tcp`, `http`, `postgres`, `mysql`, `redis`),
//! beside address parsing, error classification and secret scrubbing.

mod address;
mod errors;
mod http;
mod mysql;
mod postgres;
mod redis;
mod secrets;
mod tcp;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::egress::{EgressClient, EgressPolicy};

use address::{parse_host_only, parse_host_port, parse_http_url};
use secrets::{redact_url_password, scrub, secrets_of};

/// What kind of server a connection points at.
#[derive(
    async_graphql::Enum,
    serde::Serialize,
    serde::Deserialize,
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServerKind {
    /// A machine: the probe only resolves its name.
    Host,
    /// An HTTP(S) endpoint: the probe sends a GET and expects 2xx or 3xx.
    Http,
    /// A TCP port: the probe only connects.
    Tcp,
    /// A PostgreSQL server: the probe logs in and reads the server version.
    Postgres,
    /// A MySQL or MariaDB server: the probe logs in and reads the server version.
    Mysql,
    /// A Redis (or Valkey) server: the probe authenticates if asked and reads the version.
    Redis,
}

impl ServerKind {
    /// The port used when the address leaves it out (databases only).
    pub fn default_port(self) -> Option<u16> {
        match self {
            Self::Postgres => Some(5432),
            Self::Mysql => Some(3306),
            Self::Redis => Some(6379),
            Self::Host | Self::Http | Self::Tcp => None,
        }
    }

    /// The product name used in messages.
    fn label(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::Http => "HTTP",
            Self::Tcp => "TCP",
            Self::Postgres => "PostgreSQL",
            Self::Mysql => "MySQL",
            Self::Redis => "Redis",
        }
    }
}

/// Why a probe failed.
#[derive(
    async_graphql::Enum,
    serde::Serialize,
    serde::Deserialize,
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProbeErrorKind {
    /// The host actively refused the connection (nothing listening, or a firewall reject).
    Refused,
    /// No answer within the probe's timeout.
    TimedOut,
    /// The server rejected the user name or password.
    AuthenticationFailed,
    /// The TLS handshake or certificate check failed.
    Tls,
    /// The host name could not be resolved.
    Dns,
    /// The address (or another setting of the target) is not valid.
    BadAddress,
    /// The server answered, but not the way a healthy server of this kind does.
    Protocol,
    /// The egress policy refuses the address (`TIDEWATCH_EGRESS_DENY` /
    /// `TIDEWATCH_EGRESS_ALLOW`); nothing was sent to it.
    EgressDenied,
    /// Anything else, including HTTP status codes other than 2xx and 3xx.
    Other,
}

/// What to probe.
#[derive(Clone)]
pub struct ProbeTarget {
    /// Kind of server.
    pub kind: ServerKind,
    /// URL for HTTP, a host name or IP for HOST, `host:port` for the others.
    pub address: String,
    /// User name (PostgreSQL defaults to `postgres`, MySQL to `root`; HTTP basic auth; Redis ACL user).
    pub username: Option<String>,
    /// Password; never shown in messages or `Debug` output.
    pub password: Option<String>,
    /// Database name (PostgreSQL, MySQL) or database number (Redis).
    pub database: Option<String>,
    /// Upper bound for the whole probe, name resolution included.
    pub timeout: Duration,
    /// What the probe connects through.
    pub network: ProbeNetwork,
}

impl ProbeTarget {
    /// A target without credentials and with a 5-second timeout.
    pub fn new(kind: ServerKind, address: impl Into<String>, network: ProbeNetwork) -> Self {
        Self {
            kind,
            address: address.into(),
            username: None,
            password: None,
            database: None,
            timeout: Duration::from_secs(5),
            network,
        }
    }
}

/// What probes connect through: the egress policy, and the HTTP client of HTTP
/// probes under it (built once; cheap to clone).
#[derive(Debug, Clone)]
pub struct ProbeNetwork {
    policy: Arc<EgressPolicy>,
    http: EgressClient,
}

impl ProbeNetwork {
    /// Probes under `policy`; panics only if the TLS backend cannot start.
    pub fn new(policy: Arc<EgressPolicy>) -> Self {
        let builder = reqwest::Client::builder()
            .user_agent(concat!("tidewatch-probe/", env!("CARGO_PKG_VERSION")));
        let http = EgressClient::new(policy.clone(), builder, None)
            .expect("the probe HTTP client (rustls) could not be built");
        Self { policy, http }
    }
}

impl fmt::Debug for ProbeTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProbeTarget")
            .field("kind", &self.kind)
            .field("address", &redact_url_password(&self.address))
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("database", &self.database)
            .field("timeout", &self.timeout)
            .field("egress", &self.network.policy)
            .finish()
    }
}

/// The result of one probe.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, async_graphql::SimpleObject)]
#[serde(rename_all = "camelCase")]
pub struct ProbeOutcome {
    /// Whether the server answered as expected.
    pub success: bool,
    /// Time the probe took, in milliseconds (until failure or timeout when it failed).
    pub latency_ms: f64,
    /// Server version reported by a database (PostgreSQL, MySQL, Redis).
    pub version: Option<String>,
    /// HTTP status code, for HTTP probes that got a response.
    pub http_status: Option<i32>,
    /// Why the probe failed; absent on success.
    pub error_kind: Option<ProbeErrorKind>,
    /// What happened, in plain words; never contains the password.
    pub message: String,
}

/// Checks an address for `kind`: a URL for HTTP, a host name or IP for HOST,
/// `host:port` for TCP and the databases (IPv6 in brackets, port 1–65535,
/// port optional for the databases).
pub fn validate_address(kind: ServerKind, address: &str) -> Result<(), String> {
    match kind {
        ServerKind::Http => parse_http_url(address).map(|_| ()),
        ServerKind::Host => parse_host_only(address).map(|_| ()),
        _ => parse_host_port(address, kind.default_port()).map(|_| ()),
    }
}

/// Probes `target` and reports what happened; bounded by `target.timeout`.
pub async fn probe(target: &ProbeTarget) -> ProbeOutcome {
    let started = Instant::now();
    let result = match validate_address(target.kind, &target.address) {
        Err(e) => Err(Failure::new(
            ProbeErrorKind::BadAddress,
            format!("Invalid {} address: {e}", target.kind.label()),
        )),
        Ok(()) => match tokio::time::timeout(target.timeout, run(target)).await {
            Ok(result) => result,
            Err(_) => Err(Failure::new(
                ProbeErrorKind::TimedOut,
                format!(
                    "No answer from {} {} within {} ms",
                    target.kind.label(),
                    redact_url_password(&target.address),
                    target.timeout.as_millis()
                ),
            )),
        },
    };
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let secrets = secrets_of(target);
    match result {
        Ok(ok) => ProbeOutcome {
            success: true,
            latency_ms,
            version: ok.version.map(|v| scrub(v, &secrets)),
            http_status: ok.http_status,
            error_kind: None,
            message: scrub(ok.message, &secrets),
        },
        Err(failure) => ProbeOutcome {
            success: false,
            latency_ms,
            version: None,
            http_status: failure.http_status,
            error_kind: Some(failure.kind),
            message: scrub(failure.message, &secrets),
        },
    }
}

/// What a probe that succeeded found.
struct Success {
    version: Option<String>,
    http_status: Option<i32>,
    message: String,
}

/// Why a probe failed, before secrets are scrubbed from the message.
struct Failure {
    kind: ProbeErrorKind,
    message: String,
    http_status: Option<i32>,
}

impl Failure {
    fn new(kind: ProbeErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            http_status: None,
        }
    }
}

/// One step of a probe: its result, or why the probe stops there.
type Step<T> = Result<T, Failure>;

async fn run(target: &ProbeTarget) -> Step<Success> {
    match target.kind {
        ServerKind::Host => tcp::probe_host(target).await,
        ServerKind::Http => http::probe_http(target).await,
        ServerKind::Tcp => tcp::probe_tcp(target).await,
        ServerKind::Postgres => postgres::probe_postgres(target).await,
        ServerKind::Mysql => mysql::probe_mysql(target).await,
        ServerKind::Redis => redis::probe_redis(target).await,
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}
