//! The MySQL/MariaDB probe: logs in and reads the server version.

use std::net::SocketAddr;

use super::address::HostPort;
use super::errors::{error_chain, find_io_error, io_failure};
use super::tcp::{endpoint, on_first_reachable, resolve};
use super::{non_empty, Failure, ProbeErrorKind, ProbeTarget, Step, Success};

pub(super) async fn probe_mysql(target: &ProbeTarget) -> Step<Success> {
    let hp = endpoint(target)?;
    let addrs = resolve(target, &hp.host, hp.port).await?;
    let user = non_empty(&target.username).unwrap_or("root");
    // The checked addresses only, tried in turn: the client resolves nothing itself.
    let login = |addr: SocketAddr| {
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname(addr.ip().to_string())
            .tcp_port(addr.port())
            .user(Some(user))
            .pass(non_empty(&target.password))
            .db_name(non_empty(&target.database))
            // Stay on TCP: do not switch to the server's Unix socket even on localhost.
            .prefer_socket(false)
            .stmt_cache_size(0);
        let hp = &hp;
        async move {
            mysql_async::Conn::new(opts)
                .await
                .map_err(|e| mysql_failure(&e, hp))
        }
    };
    let mut conn = on_first_reachable(&addrs, login).await?;
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

pub(super) fn mysql_failure(e: &mysql_async::Error, hp: &HostPort) -> Failure {
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
