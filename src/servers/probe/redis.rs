//! The Redis probe: connects, authenticates when asked to, and reads the server version.

use std::net::SocketAddr;

use super::address::HostPort;
use super::errors::{error_chain, find_io_error, io_failure};
use super::tcp::{endpoint, on_first_reachable, resolve};
use super::{non_empty, Failure, ProbeErrorKind, ProbeTarget, Step, Success};

pub(super) async fn probe_redis(target: &ProbeTarget) -> Step<Success> {
    let hp = endpoint(target)?;
    let addrs = resolve(target, &hp.host, hp.port).await?;
    let db: i64 = match non_empty(&target.database) {
        None => 0,
        Some(db) => db.trim().parse().map_err(|_| {
            Failure::new(
                ProbeErrorKind::BadAddress,
                format!("Redis database must be a number, not {db:?}"),
            )
        })?,
    };
    // The checked addresses only, tried in turn: the client resolves nothing itself.
    let mut conn = on_first_reachable(&addrs, |addr| connect(addr, &hp)).await?;
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

/// Connects without credentials: AUTH and SELECT are sent by the probe, as the
/// crate's own handshake replaces the server's reply with a generic message,
/// while ours keeps WRONGPASS / "no password configured" apart.
async fn connect(addr: SocketAddr, hp: &HostPort) -> Step<redis::aio::MultiplexedConnection> {
    use redis::IntoConnectionInfo;

    let settings = redis::RedisConnectionInfo::default().set_skip_set_lib_name();
    let info = redis::ConnectionAddr::Tcp(addr.ip().to_string(), addr.port())
        .into_connection_info()
        .map_err(|e| redis_failure(&e, hp))?
        .set_redis_settings(settings);
    let client = redis::Client::open(info).map_err(|e| redis_failure(&e, hp))?;
    // The crate's own 1 s / 500 ms defaults would cut in before our timeout.
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(None)
        .set_response_timeout(None);
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(|e| redis_failure(&e, hp))
}

pub(super) fn redis_failure(e: &redis::RedisError, hp: &HostPort) -> Failure {
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
