//! The PostgreSQL probe: logs in and reads the server version.

use std::io;
use std::time::Duration;

use super::address::HostPort;
use super::errors::{error_chain, find_io_error, io_failure};
use super::tcp::{endpoint, resolve};
use super::{non_empty, Failure, ProbeErrorKind, ProbeTarget, Step, Success};

pub(super) async fn probe_postgres(target: &ProbeTarget) -> Step<Success> {
    let hp = endpoint(target)?;
    let addrs = resolve(target, &hp.host, hp.port).await?;
    let user = non_empty(&target.username).unwrap_or("postgres");
    let mut config = tokio_postgres::Config::new();
    // The checked addresses only, tried in turn: the client resolves nothing itself.
    for addr in &addrs {
        config.hostaddr(addr.ip());
    }
    config
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

pub(super) fn pg_failure(e: &tokio_postgres::Error, hp: &HostPort) -> Failure {
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
