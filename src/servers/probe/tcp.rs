//! Name resolution, and the HOST and TCP probes.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};

use crate::egress::ResolveError;

use super::address::{parse_host_only, parse_host_port, HostPort};
use super::errors::io_failure;
use super::{Failure, ProbeErrorKind, ProbeTarget, Step, Success};

/// Host and port of a validated `host:port` target.
pub(super) fn endpoint(target: &ProbeTarget) -> Step<HostPort> {
    parse_host_port(&target.address, target.kind.default_port())
        .map_err(|e| Failure::new(ProbeErrorKind::BadAddress, e))
}

/// The addresses of `host` the egress policy permits (IP literals resolve to
/// themselves), with DNS failures and refusals told apart. Client libraries are
/// handed these addresses, never the name, so what was checked is what they dial.
pub(super) async fn resolve(target: &ProbeTarget, host: &str, port: u16) -> Step<Vec<SocketAddr>> {
    target
        .network
        .policy
        .resolve(host, port)
        .await
        .map_err(|error| match error {
            ResolveError::Denied(denied) => Failure::new(
                ProbeErrorKind::EgressDenied,
                format!("Not connecting to {host}: {denied}"),
            ),
            ResolveError::Dns { source, .. } => Failure::new(
                ProbeErrorKind::Dns,
                format!("Could not resolve host name {host}: {source}"),
            ),
            ResolveError::NoAddress { .. } => Failure::new(
                ProbeErrorKind::Dns,
                format!("Host name {host} resolved to no addresses"),
            ),
        })
}

/// Runs `attempt` on each address in turn until one gets further than a refused
/// (or otherwise failed) connection; the last failure when none does.
pub(super) async fn on_first_reachable<T, Attempt>(
    addrs: &[SocketAddr],
    attempt: impl Fn(SocketAddr) -> Attempt,
) -> Step<T>
where
    Attempt: Future<Output = Step<T>>,
{
    let mut last = None;
    for addr in addrs {
        match attempt(*addr).await {
            Err(failure)
                if matches!(
                    failure.kind,
                    ProbeErrorKind::Refused | ProbeErrorKind::Other
                ) =>
            {
                last = Some(failure);
            }
            done => return done,
        }
    }
    Err(last.unwrap_or_else(|| Failure::new(ProbeErrorKind::Dns, "No address to connect to")))
}

/// Resolves a host name for the HOST probe, which only reports the addresses
/// and connects to none of them.
async fn lookup(host: &str) -> Step<Vec<SocketAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, 0)]);
    }
    match tokio::net::lookup_host((host, 0)).await {
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

pub(super) async fn probe_host(target: &ProbeTarget) -> Step<Success> {
    let host = parse_host_only(&target.address)
        .map_err(|e| Failure::new(ProbeErrorKind::BadAddress, e))?;
    let addrs = lookup(&host).await?;
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

pub(super) async fn probe_tcp(target: &ProbeTarget) -> Step<Success> {
    let hp = endpoint(target)?;
    let addrs = resolve(target, &hp.host, hp.port).await?;
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
