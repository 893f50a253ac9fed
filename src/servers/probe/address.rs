//! Parsing and checking server addresses.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use reqwest::Url;

/// A validated host (without brackets) and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct HostPort {
    pub(super) host: String,
    pub(super) port: u16,
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

pub(super) fn parse_http_url(address: &str) -> Result<Url, String> {
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
pub(super) fn parse_host_only(address: &str) -> Result<String, String> {
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
pub(super) fn parse_host_port(
    address: &str,
    default_port: Option<u16>,
) -> Result<HostPort, String> {
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

pub(super) fn check_no_junk(address: &str) -> Result<(), String> {
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

pub(super) fn parse_port(port: &str) -> Result<u16, String> {
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || port.len() > 5 {
        return Err(format!("port {port:?} must be a number from 1 to 65535"));
    }
    match port.parse::<u32>() {
        Ok(p @ 1..=65535) => Ok(p as u16),
        _ => Err(format!("port {port} must be from 1 to 65535")),
    }
}

/// A DNS name (letters, digits, '-', '_' in dot-separated labels) or an IPv4 address.
pub(super) fn check_host_name(host: &str) -> Result<(), String> {
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
