//! Connection probes: test a configured server for real and say what happened.
//!
//! [`probe`] never panics and never returns an error: every failure becomes a
//! [`ProbeOutcome`] with a [`ProbeErrorKind`] and a human message. The whole
//! probe, name resolution included, is bounded by [`ProbeTarget::timeout`].
//! Passwords (the target's, and one written into an HTTP URL) are scrubbed
//! from every message.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use reqwest::Url;

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
}

impl ProbeTarget {
    /// A target without credentials and with a 5-second timeout.
    pub fn new(kind: ServerKind, address: impl Into<String>) -> Self {
        Self {
            kind,
            address: address.into(),
            username: None,
            password: None,
            database: None,
            timeout: Duration::from_secs(5),
        }
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

// ---------------------------------------------------------------------------
// Running the probes

struct Success {
    version: Option<String>,
    http_status: Option<i32>,
    message: String,
}

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

type Step<T> = Result<T, Failure>;

async fn run(target: &ProbeTarget) -> Step<Success> {
    match target.kind {
        ServerKind::Host => probe_host(target).await,
        ServerKind::Http => probe_http(target).await,
        ServerKind::Tcp => probe_tcp(target).await,
        ServerKind::Postgres => probe_postgres(target).await,
        ServerKind::Mysql => probe_mysql(target).await,
        ServerKind::Redis => probe_redis(target).await,
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

/// Host and port of a validated `host:port` target.
fn endpoint(target: &ProbeTarget) -> Step<HostPort> {
    parse_host_port(&target.address, target.kind.default_port())
        .map_err(|e| Failure::new(ProbeErrorKind::BadAddress, e))
}

/// Resolves a host name (IP literals resolve to themselves) so that DNS
/// failures are reported as such, whatever client library runs next.
async fn resolve(host: &str, port: u16) -> Step<Vec<SocketAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    match tokio::net::lookup_host((host, port)).await {
        Ok(addrs) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() {
                Err(Failure::new(
                    ProbeErrorKind::Dns,
                    format!("Host name {host} resolved to no addresses"),
                ))
            } else {
                Ok(addrs)
            }
        }
        Err(e) => Err(Failure::new(
            ProbeErrorKind::Dns,
            format!("Could not resolve host name {host}: {e}"),
        )),
    }
}

async fn probe_host(target: &ProbeTarget) -> Step<Success> {
    let host = parse_host_only(&target.address)
        .map_err(|e| Failure::new(ProbeErrorKind::BadAddress, e))?;
    let addrs = resolve(&host, 0).await?;
    let mut ips: Vec<String> = Vec::new();
    for addr in addrs {
        let ip = addr.ip().to_string();
        if !ips.contains(&ip) {
            ips.push(ip);
        }
    }
    Ok(Success {
        version: None,
        http_status: None,
        message: format!("{host} resolves to {}", ips.join(", ")),
    })
}

async fn probe_tcp(target: &ProbeTarget) -> Step<Success> {
    let hp = endpoint(target)?;
    let addrs = resolve(&hp.host, hp.port).await?;
    match tokio::net::TcpStream::connect(&addrs[..]).await {
        Ok(stream) => {
            let peer = stream
                .peer_addr()
                .map(|a| a.to_string())
                .unwrap_or_else(|_| hp.to_string());
            Ok(Success {
                version: None,
                http_status: None,
                message: format!("TCP connection to {hp} ({peer}) succeeded"),
            })
        }
        Err(e) => Err(io_failure(&e, &format!("TCP connection to {hp}"))),
    }
}

async fn probe_postgres(target: &ProbeTarget) -> Step<Success> {
    let hp = endpoint(target)?;
    resolve(&hp.host, hp.port).await?;
    let user = non_empty(&target.username).unwrap_or("postgres");
    let mut config = tokio_postgres::Config::new();
    config
        .host(&hp.host)
        .port(hp.port)
        .user(user)
        .application_name("tidewatch-probe");
    if let Some(db) = non_empty(&target.database) {
        config.dbname(db);
    }
    if let Some(password) = non_empty(&target.password) {
        config.password(password);
    }
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|e| pg_failure(&e, &hp))?;
    // Drive the connection here (not in a spawned task) so that a timeout drops it.
    let mut connection = Box::pin(connection);
    let rows = tokio::select! {
        rows = client.simple_query("SHOW server_version") => rows.map_err(|e| pg_failure(&e, &hp))?,
        ended = &mut connection => {
            return Err(match ended {
                Err(e) => pg_failure(&e, &hp),
                Ok(()) => Failure::new(
                    ProbeErrorKind::Protocol,
                    format!("PostgreSQL at {hp} closed the connection before answering"),
                ),
            });
        }
    };
    // Let the connection send its Terminate message in the background.
    drop(client);
    tokio::spawn(async move {
        let _ = tokio::time::timeout(Duration::from_secs(5), connection).await;
    });
    let version = rows.iter().find_map(|message| match message {
        tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
        _ => None,
    });
    Ok(Success {
        message: format!(
            "Logged in to PostgreSQL {} at {hp} as {user}",
            version.as_deref().unwrap_or("(unknown version)")
        ),
        version,
        http_status: None,
    })
}

fn pg_failure(e: &tokio_postgres::Error, hp: &HostPort) -> Failure {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        let kind = match code {
            // invalid_password, invalid_authorization_specification (unknown role, pg_hba reject)
            "28P01" | "28000" => ProbeErrorKind::AuthenticationFailed,
            _ => ProbeErrorKind::Other,
        };
        let what = if kind == ProbeErrorKind::AuthenticationFailed {
            "PostgreSQL rejected the login"
        } else {
            "PostgreSQL reported an error"
        };
        return Failure::new(
            kind,
            format!("{what} at {hp}: {} (SQLSTATE {code})", db.message()),
        );
    }
    // tokio-postgres reports codec trouble as io::Error of kind Other: that is
    // a protocol problem, handled below.
    if let Some(io) = find_io_error(e).filter(|io| io.kind() != io::ErrorKind::Other) {
        return io_failure(io, &format!("PostgreSQL at {hp}"));
    }
    let text = error_chain(e);
    if text.contains("password missing") {
        return Failure::new(
            ProbeErrorKind::AuthenticationFailed,
            format!("PostgreSQL at {hp} asks for a password, but none is configured"),
        );
    }
    // Neither a server error nor an I/O error: the peer did not speak the
    // PostgreSQL protocol as expected ("unexpected message", "bytes remaining"...).
    Failure::new(
        ProbeErrorKind::Protocol,
        format!("PostgreSQL at {hp}: {text} (is this really a PostgreSQL server?)"),
    )
}

async fn probe_mysql(target: &ProbeTarget) -> Step<Success> {
    let hp = endpoint(target)?;
    resolve(&hp.host, hp.port).await?;
    let user = non_empty(&target.username).unwrap_or("root");
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(hp.host.clone())
        .tcp_port(hp.port)
        .user(Some(user))
        .pass(non_empty(&target.password))
        .db_name(non_empty(&target.database))
        // Stay on TCP: do not switch to the server's Unix socket even on localhost.
        .prefer_socket(false)
        .stmt_cache_size(0);
    let mut conn = mysql_async::Conn::new(opts)
        .await
        .map_err(|e| mysql_failure(&e, &hp))?;
    let version: Result<Option<String>, _> =
        mysql_async::prelude::Queryable::query_first(&mut conn, "SELECT VERSION()").await;
    let _ = conn.disconnect().await;
    let version = version.map_err(|e| mysql_failure(&e, &hp))?;
    Ok(Success {
        message: format!(
            "Logged in to MySQL {} at {hp} as {user}",
            version.as_deref().unwrap_or("(unknown version)")
        ),
        version,
        http_status: None,
    })
}

fn mysql_failure(e: &mysql_async::Error, hp: &HostPort) -> Failure {
    match e {
        mysql_async::Error::Server(server) => {
            let kind = match server.code {
                // ER_DBACCESS_DENIED_ERROR, ER_ACCESS_DENIED_ERROR, ER_ACCESS_DENIED_NO_PASSWORD_ERROR
                1044 | 1045 | 1698 => ProbeErrorKind::AuthenticationFailed,
                _ => ProbeErrorKind::Other,
            };
            let what = if kind == ProbeErrorKind::AuthenticationFailed {
                "MySQL rejected the login"
            } else {
                "MySQL reported an error"
            };
            Failure::new(
                kind,
                format!(
                    "{what} at {hp}: {} (error {}, SQLSTATE {})",
                    server.message, server.code, server.state
                ),
            )
        }
        mysql_async::Error::Io(_) => match find_io_error(e) {
            Some(io) => io_failure(io, &format!("MySQL at {hp}")),
            None => Failure::new(ProbeErrorKind::Tls, format!("MySQL at {hp}: {e}")),
        },
        mysql_async::Error::Driver(_) => Failure::new(
            ProbeErrorKind::Protocol,
            format!(
                "MySQL at {hp}: {} (is this really a MySQL server?)",
                error_chain(e)
            ),
        ),
        mysql_async::Error::Url(_) => Failure::new(
            ProbeErrorKind::BadAddress,
            format!("MySQL at {hp}: {}", error_chain(e)),
        ),
        mysql_async::Error::Other(_) => Failure::new(
            ProbeErrorKind::Other,
            format!("MySQL at {hp}: {}", error_chain(e)),
        ),
    }
}

async fn probe_redis(target: &ProbeTarget) -> Step<Success> {
    use redis::IntoConnectionInfo;

    let hp = endpoint(target)?;
    resolve(&hp.host, hp.port).await?;
    let db: i64 = match non_empty(&target.database) {
        None => 0,
        Some(db) => db.trim().parse().map_err(|_| {
            Failure::new(
                ProbeErrorKind::BadAddress,
                format!("Redis database must be a number, not {db:?}"),
            )
        })?,
    };
    // Connect without credentials and send AUTH / SELECT ourselves: the crate's
    // own handshake replaces the server's reply with a generic message, while
    // ours keeps WRONGPASS / "no password configured" apart.
    let settings = redis::RedisConnectionInfo::default().set_skip_set_lib_name();
    let info = redis::ConnectionAddr::Tcp(hp.host.clone(), hp.port)
        .into_connection_info()
        .map_err(|e| redis_failure(&e, &hp))?
        .set_redis_settings(settings);
    let client = redis::Client::open(info).map_err(|e| redis_failure(&e, &hp))?;
    // The crate's own 1 s / 500 ms defaults would cut in before our timeout.
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(None)
        .set_response_timeout(None);
    let mut conn = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(|e| redis_failure(&e, &hp))?;
    if let Some(password) = non_empty(&target.password) {
        let mut auth = redis::cmd("AUTH");
        if let Some(user) = non_empty(&target.username) {
            auth.arg(user);
        }
        auth.arg(password);
        let () = auth
            .query_async(&mut conn)
            .await
            .map_err(|e| redis_failure(&e, &hp))?;
    }
    if db != 0 {
        let () = redis::cmd("SELECT")
            .arg(db)
            .query_async(&mut conn)
            .await
            .map_err(|e| redis_failure(&e, &hp))?;
    }
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query_async(&mut conn)
        .await
        .map_err(|e| redis_failure(&e, &hp))?;
    let field = |name: &str| {
        info.lines()
            .find_map(|line| line.strip_prefix(name))
            .map(|v| v.trim().to_owned())
    };
    let version = field("redis_version:").or_else(|| field("valkey_version:"));
    Ok(Success {
        message: format!(
            "Redis {} answered at {hp}",
            version.as_deref().unwrap_or("(unknown version)")
        ),
        version,
        http_status: None,
    })
}

fn redis_failure(e: &redis::RedisError, hp: &HostPort) -> Failure {
    let text = error_chain(e);
    let code = e.code().unwrap_or("");
    if text.contains("without any password configured") {
        // Redis 6+ answers AUTH on a server without a password with an ERR.
        return Failure::new(
            ProbeErrorKind::AuthenticationFailed,
            format!(
                "Redis at {hp} has no password set, but this connection sends one: \
                 remove the password from the connection or set one on the server"
            ),
        );
    }
    if code == "NOAUTH" || text.contains("NOAUTH") {
        return Failure::new(
            ProbeErrorKind::AuthenticationFailed,
            format!("Redis at {hp} requires a password, but none is configured"),
        );
    }
    if e.kind() == redis::ErrorKind::AuthenticationFailed
        || code == "WRONGPASS"
        || text.contains("WRONGPASS")
        || text.contains("invalid password")
    {
        return Failure::new(
            ProbeErrorKind::AuthenticationFailed,
            format!("Redis rejected the login at {hp}: wrong user name or password ({text})"),
        );
    }
    if e.is_connection_refusal() {
        return Failure::new(
            ProbeErrorKind::Refused,
            format!("Redis at {hp} refused the connection: {text}"),
        );
    }
    if e.is_timeout() {
        return Failure::new(
            ProbeErrorKind::TimedOut,
            format!("Redis at {hp} timed out: {text}"),
        );
    }
    if let Some(io) = find_io_error(e) {
        return io_failure(io, &format!("Redis at {hp}"));
    }
    let kind = match e.kind() {
        redis::ErrorKind::Parse | redis::ErrorKind::UnexpectedReturnType => {
            ProbeErrorKind::Protocol
        }
        redis::ErrorKind::InvalidClientConfig => ProbeErrorKind::BadAddress,
        _ if e.is_connection_dropped() => ProbeErrorKind::Protocol,
        _ => ProbeErrorKind::Other,
    };
    let hint = if kind == ProbeErrorKind::Protocol {
        " (is this really a Redis server?)"
    } else {
        ""
    };
    Failure::new(kind, format!("Redis at {hp}: {text}{hint}"))
}

fn http_client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tidewatch-probe/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new())
    })
}

async fn probe_http(target: &ProbeTarget) -> Step<Success> {
    let url =
        parse_http_url(&target.address).map_err(|e| Failure::new(ProbeErrorKind::BadAddress, e))?;
    let shown = redact_url_password(url.as_str());
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_owned(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => return Err(Failure::new(ProbeErrorKind::BadAddress, "URL has no host")),
    };
    let port = url.port_or_known_default().unwrap_or(80);
    resolve(&host, port).await?;
    // No per-request timeout: the caller's timeout around the whole probe applies.
    let mut request = http_client().get(url.clone());
    if let Some(user) = non_empty(&target.username) {
        request = request.basic_auth(user, non_empty(&target.password));
    }
    let response = request.send().await.map_err(|e| http_failure(e, &shown))?;
    let status = response.status();
    let code = i32::from(status.as_u16());
    let status_text = match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    };
    if status.is_success() || status.is_redirection() {
        let mut message = format!("{shown} answered HTTP {status_text}");
        if let Some(location) = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
        {
            message.push_str(&format!(
                " (redirects to {})",
                redact_url_password(location)
            ));
        }
        Ok(Success {
            version: None,
            http_status: Some(code),
            message,
        })
    } else {
        Err(Failure {
            kind: ProbeErrorKind::Other,
            message: format!("{shown} answered HTTP {status_text}"),
            http_status: Some(code),
        })
    }
}

fn http_failure(e: reqwest::Error, shown: &str) -> Failure {
    let e = e.without_url();
    let text = error_chain(&e);
    if e.is_timeout() {
        return Failure::new(
            ProbeErrorKind::TimedOut,
            format!("{shown} did not answer in time: {text}"),
        );
    }
    if let Some(tls) = find_in_chain::<rustls::Error>(&e) {
        let hint = match tls {
            rustls::Error::InvalidMessage(_) => " (is the server speaking plain HTTP?)",
            _ => "",
        };
        return Failure::new(
            ProbeErrorKind::Tls,
            format!("TLS handshake with {shown} failed: {tls}{hint}"),
        );
    }
    let lower = text.to_ascii_lowercase();
    if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        return Failure::new(
            ProbeErrorKind::Tls,
            format!("TLS failed for {shown}: {text}"),
        );
    }
    if let Some(io) = find_io_error(&e).filter(|io| io.kind() != io::ErrorKind::Other) {
        return io_failure(io, shown);
    }
    let kind = if e.is_connect() {
        ProbeErrorKind::Other
    } else {
        // Connected, but the answer was not HTTP (parse error, closed early...).
        ProbeErrorKind::Protocol
    };
    Failure::new(kind, format!("Request to {shown} failed: {text}"))
}

/// Classifies an I/O error; `what` names the attempted thing ("PostgreSQL at host:port").
fn io_failure(e: &io::Error, what: &str) -> Failure {
    use io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => Failure::new(
            ProbeErrorKind::Refused,
            format!("{what}: connection refused (nothing is listening on that port, or a firewall rejects it)"),
        ),
        K::TimedOut => Failure::new(
            ProbeErrorKind::TimedOut,
            format!("{what}: timed out ({e})"),
        ),
        K::ConnectionReset | K::ConnectionAborted | K::UnexpectedEof | K::BrokenPipe | K::InvalidData => {
            Failure::new(
                ProbeErrorKind::Protocol,
                format!("{what}: the server closed or garbled the connection ({e}); is this the right kind of server?"),
            )
        }
        _ => Failure::new(ProbeErrorKind::Other, format!("{what}: {e}")),
    }
}

/// The most specific `std::io::Error` in an error's source chain: the first
/// whose kind is not `Other`, else the first.
fn find_io_error<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a io::Error> {
    let ios: Vec<&io::Error> = causes(e)
        .into_iter()
        .filter_map(|err| err.downcast_ref::<io::Error>())
        .collect();
    ios.iter()
        .find(|io| io.kind() != io::ErrorKind::Other)
        .or(ios.first())
        .copied()
}

/// The first error of type `T` in an error's source chain.
fn find_in_chain<'a, T: StdError + 'static>(e: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    causes(e)
        .into_iter()
        .find_map(|err| err.downcast_ref::<T>())
}

/// An error and its causes, also looking inside custom `io::Error`s (whose
/// `source()` skips the error they wrap).
fn causes<'a>(e: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut out = Vec::new();
    let mut current = Some(e);
    while let Some(err) = current {
        if out.len() >= 32 {
            break;
        }
        out.push(err);
        current = match err.downcast_ref::<io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => err.source(),
        };
    }
    out
}

/// An error and its sources joined with ": ", skipping sources already quoted by their parent.
fn error_chain(e: &(dyn StdError + 'static)) -> String {
    let mut text = e.to_string();
    let mut current = e.source();
    while let Some(err) = current {
        let part = err.to_string();
        if !part.is_empty() && !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        current = err.source();
    }
    text
}

// ---------------------------------------------------------------------------
// Secrets

/// Everything that must not appear in a message: the password, and any password in an HTTP URL.
fn secrets_of(target: &ProbeTarget) -> Vec<String> {
    let mut secrets = Vec::new();
    if let Some(p) = non_empty(&target.password) {
        secrets.push(p.to_owned());
    }
    if let Ok(url) = Url::parse(target.address.trim()) {
        if let Some(p) = url.password().filter(|p| !p.is_empty()) {
            secrets.push(p.to_owned());
            if let Ok(decoded) = percent_decode(p) {
                secrets.push(decoded);
            }
        }
    }
    // Longest first, so that a secret containing another is replaced whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.dedup();
    secrets
}

/// Replaces every occurrence of every secret with `********` and puts the message on one line.
fn scrub(message: String, secrets: &[String]) -> String {
    fn one_line(text: &str) -> String {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }
    fn replace_all(mut message: String, secrets: impl Iterator<Item = String>) -> String {
        for secret in secrets {
            if !secret.is_empty() && message.contains(secret.as_str()) {
                message = message.replace(secret.as_str(), "********");
            }
        }
        message
    }
    // Before and after flattening, so a password with spaces or newlines goes either way.
    let message = replace_all(message, secrets.iter().cloned());
    replace_all(one_line(&message), secrets.iter().map(|s| one_line(s)))
}

/// The address with any password in a URL replaced by `********`.
fn redact_url_password(address: &str) -> String {
    match Url::parse(address.trim()) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("********"));
            url.to_string()
        }
        _ => address.to_owned(),
    }
}

fn percent_decode(s: &str) -> Result<String, ()> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).map_err(|_| ())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| ())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

// ---------------------------------------------------------------------------
// Address parsing

/// A validated host (without brackets) and port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HostPort {
    host: String,
    port: u16,
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

fn parse_http_url(address: &str) -> Result<Url, String> {
    if address.is_empty() {
        return Err("the URL is empty".into());
    }
    if address.trim() != address || address.chars().any(char::is_whitespace) {
        return Err("the URL must not contain spaces".into());
    }
    let url = Url::parse(address).map_err(|e| format!("not a valid URL ({e})"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!(
            "the URL must start with http:// or https://, not {}://",
            url.scheme()
        ));
    }
    match url.host() {
        None => return Err("the URL has no host".into()),
        Some(url::Host::Domain(d)) => check_host_name(d)?,
        Some(_) => {}
    }
    if url.port() == Some(0) {
        return Err("port must be from 1 to 65535".into());
    }
    Ok(url)
}

/// A host name or IP address for HOST probes (IPv6 with or without brackets).
fn parse_host_only(address: &str) -> Result<String, String> {
    check_no_junk(address)?;
    if let Some(inner) = address.strip_prefix('[').and_then(|a| a.strip_suffix(']')) {
        return inner
            .parse::<Ipv6Addr>()
            .map(|ip| ip.to_string())
            .map_err(|_| format!("{inner:?} is not a valid IPv6 address"));
    }
    if address.contains(':') {
        return match address.parse::<Ipv6Addr>() {
            Ok(ip) => Ok(ip.to_string()),
            Err(_) => Err("expected a host name or IP address without a port".into()),
        };
    }
    check_host_name(address)?;
    Ok(address.to_owned())
}

/// `host:port`, `[v6]:port`, or (when `default_port` is given) `host`, `[v6]` or a bare IPv6 address.
fn parse_host_port(address: &str, default_port: Option<u16>) -> Result<HostPort, String> {
    check_no_junk(address)?;
    let (host, port) = if let Some(rest) = address.strip_prefix('[') {
        let (inner, after) = rest
            .split_once(']')
            .ok_or("missing ']' after the IPv6 address")?;
        let ip: Ipv6Addr = inner
            .parse()
            .map_err(|_| format!("{inner:?} is not a valid IPv6 address"))?;
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or("expected ':port' after the IPv6 address")?,
            ),
        };
        (ip.to_string(), port)
    } else if address.matches(':').count() > 1 {
        match (address.parse::<Ipv6Addr>(), default_port) {
            (Ok(ip), Some(_)) => (ip.to_string(), None),
            _ => {
                return Err(
                    "IPv6 addresses must be written in brackets with a port, e.g. [::1]:5432"
                        .into(),
                )
            }
        }
    } else {
        match address.split_once(':') {
            Some((host, port)) => {
                check_host_name(host)?;
                (host.to_owned(), Some(port))
            }
            None => {
                check_host_name(address)?;
                (address.to_owned(), None)
            }
        }
    };
    let port = match (port, default_port) {
        (Some(p), _) => parse_port(p)?,
        (None, Some(p)) => p,
        (None, None) => return Err("expected host:port, the port is missing".into()),
    };
    Ok(HostPort { host, port })
}

fn check_no_junk(address: &str) -> Result<(), String> {
    if address.is_empty() {
        return Err("the address is empty".into());
    }
    if address.contains("://") {
        return Err("expected a host (and port), not a URL".into());
    }
    if address
        .chars()
        .any(|c| c.is_whitespace() || c == '/' || c == '@')
    {
        return Err("the address must not contain spaces, '/' or '@'".into());
    }
    Ok(())
}

fn parse_port(port: &str) -> Result<u16, String> {
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || port.len() > 5 {
        return Err(format!("port {port:?} must be a number from 1 to 65535"));
    }
    match port.parse::<u32>() {
        Ok(p @ 1..=65535) => Ok(p as u16),
        _ => Err(format!("port {port} must be from 1 to 65535")),
    }
}

/// A DNS name (letters, digits, '-', '_' in dot-separated labels) or an IPv4 address.
fn check_host_name(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("the host is empty".into());
    }
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return host
            .parse::<Ipv4Addr>()
            .map(|_| ())
            .map_err(|_| format!("{host:?} is not a valid IPv4 address"));
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.len() > 253 {
        return Err("the host name is longer than 253 characters".into());
    }
    for label in name.split('.') {
        let valid = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(format!("{host:?} is not a valid host name"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Tests against loopback servers started here always run. Tests against
    //! real databases run when their variable is set, as in the main project:
    //! `TEST_DATABASE_URL` (postgres://postgres@127.0.0.1:5432/postgres),
    //! `TEST_REDIS_URL` (redis://127.0.0.1:6379) and
    //! `TEST_MYSQL_URL` (mysql://root@127.0.0.1:3306/test, root without a password),
    //! and `TEST_PG_PASSWORD_URL` for a PostgreSQL that checks passwords.

    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    const PASSWORD: &str = "Sup3r-S3cret-Pw!";

    fn target(kind: ServerKind, address: &str) -> ProbeTarget {
        let mut t = ProbeTarget::new(kind, address);
        t.timeout = Duration::from_secs(5);
        t
    }

    fn assert_no_password(outcome: &ProbeOutcome) {
        let json = serde_json::to_string(outcome).unwrap();
        assert!(!json.contains(PASSWORD), "password leaked: {json}");
        assert!(!json.contains("S3cret"), "password leaked: {json}");
    }

    /// `host:port` of a service from a test URL variable, or `None` (test skipped).
    fn service(var: &str) -> Option<(String, Url)> {
        match std::env::var(var) {
            Ok(raw) if !raw.is_empty() => {
                let url = Url::parse(&raw).expect("test URL");
                let host = url.host_str().expect("host").to_owned();
                let port = url.port().expect("port in test URL");
                Some((format!("{host}:{port}"), url))
            }
            _ => {
                eprintln!("{var} is not set; test not run");
                None
            }
        }
    }

    /// A loopback server that answers every connection with `response` once it has read the request head.
    async fn raw_server(response: String) -> SocketAddr {
        serve(response, false).await
    }

    /// A loopback server answering every connection with `response` after the first bytes
    /// (or the whole request head when `eager` is false).
    async fn serve(response: String, eager: bool) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let response = response.clone();
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                        if eager {
                            break;
                        }
                        if seen.len() > 64 * 1024 {
                            break;
                        }
                    }
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        addr
    }

    /// A loopback server that accepts connections and never says anything.
    async fn silent_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        addr
    }

    /// A loopback port with nothing listening on it.
    async fn closed_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    }

    // -- addresses -----------------------------------------------------------

    #[test]
    fn address_validation() {
        use ServerKind::*;
        let ok = [
            (Http, "http://127.0.0.1:8080/health"),
            (Http, "https://example.com"),
            (Http, "http://[::1]:8080/"),
            (Tcp, "127.0.0.1:5432"),
            (Tcp, "db.internal:1"),
            (Tcp, "[::1]:65535"),
            (Postgres, "localhost"),
            (Postgres, "localhost:5433"),
            (Mysql, "[::1]"),
            (Mysql, "::1"),
            (Redis, "cache_1.example.com."),
            (Host, "example.com"),
            (Host, "10.0.0.1"),
            (Host, "::1"),
            (Host, "[fe80::1]"),
        ];
        for (kind, address) in ok {
            assert_eq!(
                validate_address(kind, address),
                Ok(()),
                "{kind:?} {address}"
            );
        }
        let bad = [
            (Http, "ftp://example.com"),
            (Http, "example.com"),
            (Http, "http://"),
            (Http, "http://example.com:0/"),
            (Http, "http://exa mple.com/"),
            (Http, ""),
            (Tcp, "127.0.0.1"),
            (Tcp, "127.0.0.1:0"),
            (Tcp, "127.0.0.1:65536"),
            (Tcp, "127.0.0.1:http"),
            (Tcp, "127.0.0.1:"),
            (Tcp, "::1:80"),
            (Tcp, "[::1]"),
            (Tcp, "[::1"),
            (Tcp, "[nope]:80"),
            (Tcp, "-bad-.example:80"),
            (Tcp, "999.1.1.1:80"),
            (Postgres, "postgres://localhost:5432"),
            (Postgres, "user@localhost"),
            (Postgres, "host:5432/db"),
            (Postgres, " localhost"),
            (Redis, ""),
            (Host, "example.com:80"),
            (Host, "http://example.com"),
            (Host, "a..b"),
        ];
        for (kind, address) in bad {
            assert!(
                validate_address(kind, address).is_err(),
                "{kind:?} {address:?} accepted"
            );
        }
        assert_eq!(
            parse_host_port("[::1]", Some(5432)).unwrap().to_string(),
            "[::1]:5432"
        );
        assert_eq!(parse_host_port("db", Some(6379)).unwrap().port, 6379);
    }

    #[tokio::test]
    async fn bad_address_is_reported_without_connecting() {
        let outcome = probe(&target(ServerKind::Tcp, "localhost")).await;
        assert!(!outcome.success);
        assert_eq!(outcome.error_kind, Some(ProbeErrorKind::BadAddress));
        assert!(outcome.message.contains("port"), "{}", outcome.message);
    }

    // -- TCP, HOST, DNS, timeouts ---------------------------------------------

    #[tokio::test]
    async fn tcp_closed_port_is_refused() {
        let port = closed_port().await;
        let outcome = probe(&target(ServerKind::Tcp, &format!("127.0.0.1:{port}"))).await;
        assert!(!outcome.success);
        assert_eq!(
            outcome.error_kind,
            Some(ProbeErrorKind::Refused),
            "{outcome:?}"
        );
        assert!(outcome.message.contains("refused"), "{}", outcome.message);
    }

    #[tokio::test]
    async fn tcp_open_port_succeeds() {
        let addr = silent_server().await;
        let outcome = probe(&target(ServerKind::Tcp, &addr.to_string())).await;
        assert!(outcome.success, "{outcome:?}");
        assert_eq!(outcome.error_kind, None);
        assert!(outcome.latency_ms >= 0.0);
        // localhost resolves, and the probe tries every address it resolves to.
        let outcome = probe(&target(
            ServerKind::Tcp,
            &format!("localhost:{}", addr.port()),
        ))
        .await;
        assert!(outcome.success, "{outcome:?}");
    }

    #[tokio::test]
    async fn unresolvable_names_are_dns_errors() {
        for (kind, address) in [
            (ServerKind::Tcp, "no-such-host.invalid:80"),
            (ServerKind::Host, "no-such-host.invalid"),
            (ServerKind::Http, "http://no-such-host.invalid/health"),
            (ServerKind::Postgres, "no-such-host.invalid"),
            (ServerKind::Mysql, "no-such-host.invalid:3306"),
            (ServerKind::Redis, "no-such-host.invalid"),
        ] {
            let outcome = probe(&target(kind, address)).await;
            assert!(!outcome.success);
            assert_eq!(
                outcome.error_kind,
                Some(ProbeErrorKind::Dns),
                "{kind:?}: {outcome:?}"
            );
            assert!(
                outcome.message.contains("no-such-host.invalid"),
                "{}",
                outcome.message
            );
        }
    }

    #[tokio::test]
    async fn host_probe_resolves() {
        let outcome = probe(&target(ServerKind::Host, "localhost")).await;
        assert!(outcome.success, "{outcome:?}");
        assert!(outcome.message.contains("127.0.0.1") || outcome.message.contains("::1"));
        let outcome = probe(&target(ServerKind::Host, "[::1]")).await;
        assert!(outcome.success, "{outcome:?}");
    }

    #[tokio::test]
    async fn silent_server_times_out() {
        let addr = silent_server().await;
        for kind in [
            ServerKind::Postgres,
            ServerKind::Mysql,
            ServerKind::Redis,
            ServerKind::Http,
        ] {
            let address = if kind == ServerKind::Http {
                format!("http://{addr}/")
            } else {
                addr.to_string()
            };
            let mut t = target(kind, &address);
            t.password = Some(PASSWORD.into());
            t.timeout = Duration::from_millis(300);
            let started = Instant::now();
            let outcome = probe(&t).await;
            let took = started.elapsed();
            assert!(!outcome.success);
            assert_eq!(
                outcome.error_kind,
                Some(ProbeErrorKind::TimedOut),
                "{kind:?}: {outcome:?}"
            );
            assert!(took < Duration::from_millis(1500), "{kind:?} took {took:?}");
            assert!(outcome.latency_ms >= 290.0, "{outcome:?}");
            assert!(outcome.message.contains("300 ms"), "{}", outcome.message);
            assert_no_password(&outcome);
        }
    }

    // -- HTTP ------------------------------------------------------------------

    #[tokio::test]
    async fn http_ok_reports_status() {
        let addr = raw_server(
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".into(),
        )
        .await;
        let outcome = probe(&target(ServerKind::Http, &format!("http://{addr}/health"))).await;
        assert!(outcome.success, "{outcome:?}");
        assert_eq!(outcome.http_status, Some(200));
        assert_eq!(outcome.error_kind, None);
        assert!(outcome.message.contains("200"), "{}", outcome.message);
    }

    #[tokio::test]
    async fn http_redirect_is_success_and_hides_password() {
        let location = format!("http://admin:{PASSWORD}@127.0.0.1:1/next");
        let addr = raw_server(format!(
            "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ))
        .await;
        let mut t = target(
            ServerKind::Http,
            &format!("http://admin:{PASSWORD}@{addr}/"),
        );
        t.password = Some(PASSWORD.into());
        let outcome = probe(&t).await;
        assert!(outcome.success, "{outcome:?}");
        assert_eq!(outcome.http_status, Some(302));
        assert!(
            outcome.message.contains("redirects to"),
            "{}",
            outcome.message
        );
        assert_no_password(&outcome);
    }

    #[tokio::test]
    async fn http_error_status_fails_with_status() {
        let addr = raw_server(
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                .into(),
        )
        .await;
        let outcome = probe(&target(ServerKind::Http, &format!("http://{addr}/"))).await;
        assert!(!outcome.success);
        assert_eq!(outcome.http_status, Some(503));
        assert_eq!(outcome.error_kind, Some(ProbeErrorKind::Other));
        assert!(
            outcome.message.contains("503 Service Unavailable"),
            "{}",
            outcome.message
        );
    }

    #[tokio::test]
    async fn http_refused_and_garbage() {
        let port = closed_port().await;
        let mut t = target(
            ServerKind::Http,
            &format!("http://user:{PASSWORD}@127.0.0.1:{port}/"),
        );
        t.password = Some(PASSWORD.into());
        let outcome = probe(&t).await;
        assert_eq!(
            outcome.error_kind,
            Some(ProbeErrorKind::Refused),
            "{outcome:?}"
        );
        assert_no_password(&outcome);

        let addr = raw_server("SSH-2.0-OpenSSH_9.2\r\n\r\n".into()).await;
        let outcome = probe(&target(ServerKind::Http, &format!("http://{addr}/"))).await;
        assert!(!outcome.success);
        assert_eq!(
            outcome.error_kind,
            Some(ProbeErrorKind::Protocol),
            "{outcome:?}"
        );
    }

    #[tokio::test]
    async fn https_against_plain_http_is_a_tls_error() {
        // A plain HTTP server answers the TLS ClientHello with a 400 in clear text.
        let addr = serve(
            "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
            true,
        )
        .await;
        let outcome = probe(&target(ServerKind::Http, &format!("https://{addr}/"))).await;
        assert!(!outcome.success);
        assert_eq!(outcome.error_kind, Some(ProbeErrorKind::Tls), "{outcome:?}");
    }

    // -- wrong kind of server ------------------------------------------------

    #[tokio::test]
    async fn database_probe_against_http_server_is_protocol_error() {
        let addr = serve(
            "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
            true,
        )
        .await;
        for kind in [ServerKind::Postgres, ServerKind::Mysql, ServerKind::Redis] {
            let mut t = target(kind, &addr.to_string());
            t.password = Some(PASSWORD.into());
            // MySQL clients wait for the server to speak first: they time out here.
            t.timeout = Duration::from_secs(1);
            let outcome = probe(&t).await;
            assert!(!outcome.success, "{kind:?}");
            let expected = if kind == ServerKind::Mysql {
                ProbeErrorKind::TimedOut
            } else {
                ProbeErrorKind::Protocol
            };
            assert_eq!(outcome.error_kind, Some(expected), "{kind:?}: {outcome:?}");
            assert_no_password(&outcome);
        }
    }

    // -- secrets ------------------------------------------------------------------

    #[test]
    fn scrub_removes_every_form_of_the_password() {
        let mut t = target(ServerKind::Http, "http://u:p%40ss-word@example.com/");
        t.password = Some(PASSWORD.into());
        let secrets = secrets_of(&t);
        let message = format!("failed for {PASSWORD} and p@ss-word and p%40ss-word");
        let clean = scrub(message, &secrets);
        assert!(
            !clean.contains(PASSWORD)
                && !clean.contains("p@ss-word")
                && !clean.contains("p%40ss-word")
        );
        assert_eq!(clean.matches("********").count(), 3, "{clean}");
        let spaced = vec!["pass  word\nx".to_owned()];
        assert_eq!(
            scrub("a pass  word\nx b pass word x\n".into(), &spaced),
            "a ******** b ********"
        );
        let debug = format!("{t:?}");
        assert!(
            !debug.contains(PASSWORD) && !debug.contains("p%40ss-word"),
            "{debug}"
        );
        assert_eq!(percent_decode("a%2Fb%").unwrap(), "a/b%");
    }

    // -- live services -------------------------------------------------------

    #[tokio::test]
    async fn postgres_live() {
        let Some((address, url)) = service("TEST_DATABASE_URL") else {
            return;
        };
        let mut t = target(ServerKind::Postgres, &address);
        t.username = Some(url.username().to_owned()).filter(|u| !u.is_empty());
        t.password = url.password().map(str::to_owned);
        let outcome = probe(&t).await;
        assert!(outcome.success, "{outcome:?}");
        let version = outcome.version.expect("version");
        assert!(
            version.chars().next().unwrap().is_ascii_digit(),
            "{version}"
        );

        // TCP probe of the same port.
        let outcome = probe(&target(ServerKind::Tcp, &address)).await;
        assert!(outcome.success, "{outcome:?}");

        // An unknown role fails with SQLSTATE 28000 even under trust auth.
        let mut t = target(ServerKind::Postgres, &address);
        t.username = Some("tidewatch_no_such_role".into());
        t.password = Some(PASSWORD.into());
        let outcome = probe(&t).await;
        assert!(!outcome.success);
        assert_eq!(
            outcome.error_kind,
            Some(ProbeErrorKind::AuthenticationFailed),
            "{outcome:?}"
        );
        assert!(outcome.message.contains("28000"), "{}", outcome.message);
        assert_no_password(&outcome);

        // A missing database is reported, not as an authentication failure.
        let mut t = target(ServerKind::Postgres, &address);
        t.database = Some("tidewatch_no_such_db".into());
        let outcome = probe(&t).await;
        assert_eq!(
            outcome.error_kind,
            Some(ProbeErrorKind::Other),
            "{outcome:?}"
        );
        assert!(outcome.message.contains("3D000"), "{}", outcome.message);
    }

    #[tokio::test]
    async fn postgres_wrong_password_when_server_checks_passwords() {
        // Only meaningful where pg_hba.conf asks for passwords on TCP; under
        // trust auth the login succeeds whatever the password, so we just check
        // that the outcome never echoes it.
        let Some((address, _)) = service("TEST_DATABASE_URL") else {
            return;
        };
        let mut t = target(ServerKind::Postgres, &address);
        t.username = Some("postgres".into());
        t.password = Some(PASSWORD.into());
        let outcome = probe(&t).await;
        if !outcome.success {
            assert_eq!(
                outcome.error_kind,
                Some(ProbeErrorKind::AuthenticationFailed),
                "{outcome:?}"
            );
        }
        assert_no_password(&outcome);
    }

    #[tokio::test]
    async fn postgres_password_auth_live() {
        // Needs a server that checks passwords on TCP (scram or md5 in pg_hba.conf);
        // the URL carries the right password, e.g.
        // TEST_PG_PASSWORD_URL=postgres://postgres:secret@127.0.0.1:55432/postgres
        let Some((address, url)) = service("TEST_PG_PASSWORD_URL") else {
            return;
        };
        let mut t = target(ServerKind::Postgres, &address);
        t.username = Some(url.username().to_owned());
        t.password = url.password().map(str::to_owned);
        let outcome = probe(&t).await;
        assert!(outcome.success, "{outcome:?}");

        t.password = Some(PASSWORD.into());
        let outcome = probe(&t).await;
        assert_eq!(
            outcome.error_kind,
            Some(ProbeErrorKind::AuthenticationFailed),
            "{outcome:?}"
        );
        assert!(outcome.message.contains("28P01"), "{}", outcome.message);
        assert_no_password(&outcome);

        t.password = None;
        let outcome = probe(&t).await;
        assert_eq!(
            outcome.error_kind,
            Some(ProbeErrorKind::AuthenticationFailed),
            "{outcome:?}"
        );
    }

    #[tokio::test]
    async fn mysql_live() {
        let Some((address, url)) = service("TEST_MYSQL_URL") else {
            return;
        };
        let user = Some(url.username().to_owned()).filter(|u| !u.is_empty());
        let database =
            Some(url.path().trim_start_matches('/').to_owned()).filter(|d| !d.is_empty());
        let mut t = target(ServerKind::Mysql, &address);
        t.username = user.clone();
        t.password = url.password().map(str::to_owned);
        t.database = database.clone();
        let outcome = probe(&t).await;
        assert!(outcome.success, "{outcome:?}");
        let version = outcome.version.expect("version");
        assert!(
            version.chars().next().unwrap().is_ascii_digit(),
            "{version}"
        );

        // A wrong password is rejected with error 1045.
        let mut t = target(ServerKind::Mysql, &address);
        t.username = user;
        t.password = Some(PASSWORD.into());
        t.database = database;
        let outcome = probe(&t).await;
        assert!(!outcome.success);
        assert_eq!(
            outcome.error_kind,
            Some(ProbeErrorKind::AuthenticationFailed),
            "{outcome:?}"
        );
        assert!(outcome.message.contains("1045"), "{}", outcome.message);
        assert_no_password(&outcome);

        // An unknown user is rejected the same way.
        let mut t = target(ServerKind::Mysql, &address);
        t.username = Some("tidewatch_no_such_user".into());
        t.password = Some(PASSWORD.into());
        let outcome = probe(&t).await;
        assert_eq!(
            outcome.error_kind,
            Some(ProbeErrorKind::AuthenticationFailed),
            "{outcome:?}"
        );
        assert_no_password(&outcome);
    }

    #[tokio::test]
    async fn redis_live() {
        let Some((address, _)) = service("TEST_REDIS_URL") else {
            return;
        };
        let outcome = probe(&target(ServerKind::Redis, &address)).await;
        assert!(outcome.success, "{outcome:?}");
        let version = outcome.version.expect("version");
        assert!(
            version.chars().next().unwrap().is_ascii_digit(),
            "{version}"
        );

        // A password sent to a server that has none (Redis 6+: ERR AUTH ... without
        // any password configured) counts as an authentication failure. On a
        // server with a password, a wrong one gives WRONGPASS: the same kind.
        let mut t = target(ServerKind::Redis, &address);
        t.password = Some(PASSWORD.into());
        let outcome = probe(&t).await;
        assert!(!outcome.success);
        assert_eq!(
            outcome.error_kind,
            Some(ProbeErrorKind::AuthenticationFailed),
            "{outcome:?}"
        );
        assert!(
            outcome.message.contains("no password set"),
            "{}",
            outcome.message
        );
        assert_no_password(&outcome);

        // An unknown ACL user gives WRONGPASS.
        let mut t = target(ServerKind::Redis, &address);
        t.username = Some("tidewatch_no_such_user".into());
        t.password = Some(PASSWORD.into());
        let outcome = probe(&t).await;
        assert!(!outcome.success);
        assert_eq!(
            outcome.error_kind,
            Some(ProbeErrorKind::AuthenticationFailed),
            "{outcome:?}"
        );
        assert!(outcome.message.contains("WRONGPASS"), "{}", outcome.message);
        assert_no_password(&outcome);

        // Another database number is selected.
        let mut t = target(ServerKind::Redis, &address);
        t.database = Some("1".into());
        assert!(probe(&t).await.success);
        t.database = Some("100000".into());
        let outcome = probe(&t).await;
        assert!(!outcome.success, "{outcome:?}");

        // A database number that is not a number.
        let mut t = target(ServerKind::Redis, &address);
        t.database = Some("zero".into());
        let outcome = probe(&t).await;
        assert_eq!(
            outcome.error_kind,
            Some(ProbeErrorKind::BadAddress),
            "{outcome:?}"
        );
    }
}
