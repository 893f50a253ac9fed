//! The HTTP probe: one request without following redirects; the status decides.

use std::io;

use crate::egress::denial_in;

use super::address::parse_http_url;
use super::errors::{error_chain, find_in_chain, find_io_error, io_failure};
use super::secrets::redact_url_password;
use super::tcp::resolve;
use super::{non_empty, Failure, ProbeErrorKind, ProbeTarget, Step, Success};

pub(super) async fn probe_http(target: &ProbeTarget) -> Step<Success> {
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
    // Resolved here to tell DNS failures and refusals apart; the client checks the
    // addresses again when it connects.
    resolve(target, &host, port).await?;
    // No per-request timeout: the caller's timeout around the whole probe applies.
    let mut request = target
        .network
        .http
        .request(reqwest::Method::GET, url.clone())
        .map_err(|denied| {
            Failure::new(
                ProbeErrorKind::EgressDenied,
                format!("Not connecting to {shown}: {denied}"),
            )
        })?;
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

pub(super) fn http_failure(e: reqwest::Error, shown: &str) -> Failure {
    let e = e.without_url();
    if let Some(denied) = denial_in(&e) {
        return Failure::new(
            ProbeErrorKind::EgressDenied,
            format!("Not connecting to {shown}: {denied}"),
        );
    }
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
