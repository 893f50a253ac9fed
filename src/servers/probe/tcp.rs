//! Name resolution, and the HOST and TCP probes.

use std::net::{IpAddr, SocketAddr};

use super::address::{parse_host_only, parse_host_port, HostPort};
use super::errors::io_failure;
use super::{Failure, ProbeErrorKind, ProbeTarget, Step, Success};

/// Host and port of a validated `host:port` target.
pub(super) fn endpoint(target: &ProbeTarget) -> Step<HostPort> {
    parse_host_port(&target.address, target.kind.default_port())
        .map_err(|e| Failure::new(ProbeErrorKind::BadAddress, e))
}

/// Resolves a host name (IP literals resolve to themselves) so that DNS
/// failures are reported as such, whatever client library runs next.
pub(super) async fn resolve(host: &str, port: u16) -> Step<Vec<SocketAddr>> {
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

pub(super) async fn probe_host(target: &ProbeTarget) -> Step<Success> {
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

pub(super) async fn probe_tcp(target: &ProbeTarget) -> Step<Success> {
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
