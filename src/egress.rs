//! The operator's egress policy: which addresses the node may connect to for a user.
//!
//! Every outbound connection the node makes on a user's behalf goes through one
//! [`EgressPolicy`]: HTTP cases (each redirect hop), probes and connection
//! tests of every kind, OpenAPI fetches. It is checked on resolved addresses at
//! connect time: a name is resolved here, every address is checked, and only
//! the permitted ones are connected to, so a name that later resolves to
//! something else (DNS rebinding) gains nothing.
//!
//! The rule: an address is refused when it is in `TIDEWATCH_EGRESS_DENY`, or
//! when `TIDEWATCH_EGRESS_ALLOW` is set and the address is not in it; DENY
//! always wins. By default DENY holds link-local addresses and the cloud
//! metadata endpoints ([`DEFAULT_DENY`]) and ALLOW is empty, so loopback and
//! private ranges are reachable: testing internal services is the point.
//! IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry, and
//! the unspecified addresses (`0.0.0.0`, `::`), which reach this host, must
//! pass as loopback too.
//!
//! How to plug in: [`EgressPolicy::resolve`] for clients that take addresses,
//! [`EgressPolicy::connect_tcp`] for raw TCP, and [`EgressClient`] for reqwest
//! (a DNS resolver that filters addresses, a check of literal-IP URLs, which
//! bypass resolvers, and a redirect policy that checks each hop).

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{redirect, Method, RequestBuilder, Url};
use tokio::net::TcpStream;

/// What `TIDEWATCH_EGRESS_DENY` holds unless set: link-local (which holds the
/// metadata endpoint of most clouds, 169.254.169.254) and the metadata
/// endpoints of AWS over IPv6 and of Alibaba Cloud.
pub const DEFAULT_DENY: &str = "169.254.0.0/16,fe80::/10,fd00:ec2::254/128,100.100.100.200/32";

/// A list of IP networks, written as comma-separated CIDR blocks or addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CidrList(Vec<IpNet>);

impl CidrList {
    /// Parses `10.0.0.0/8, 192.168.1.7, fd00::/8`; an empty text is an empty list.
    pub fn parse(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                let parsed = if item.contains('/') {
                    IpNet::from_str(item).ok()
                } else {
                    IpAddr::from_str(item).ok().map(IpNet::from)
                };
                parsed.ok_or_else(|| {
                    format!("{item:?} is not an IP address or CIDR block (such as 10.0.0.0/8)")
                })
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Whether the list has no entry.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first network holding `ip`.
    fn matching(&self, ip: IpAddr) -> Option<&IpNet> {
        self.0.iter().find(|net| net.contains(&ip))
    }
}

impl fmt::Display for CidrList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self.0.iter().map(IpNet::to_string).collect();
        f.write_str(&items.join(","))
    }
}

/// Which addresses outbound connections made for users may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressPolicy {
    deny: CidrList,
    allow: CidrList,
}

impl Default for EgressPolicy {
    /// The built-in policy: [`DEFAULT_DENY`] refused, everything else permitted.
    fn default() -> Self {
        Self {
            deny: CidrList::parse(DEFAULT_DENY).unwrap_or_default(),
            allow: CidrList::default(),
        }
    }
}

/// Why the policy refuses an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the egress policy refuses {address} ({reason})")]
pub struct EgressDenied {
    /// The refused address.
    pub address: IpAddr,
    reason: Refusal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Refusal {
    Denied(IpNet),
    NotAllowed,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Denied(net) => write!(f, "{net} is in TIDEWATCH_EGRESS_DENY"),
            Self::NotAllowed => f.write_str("not in TIDEWATCH_EGRESS_ALLOW"),
        }
    }
}

/// Why a host could not be turned into addresses to connect to.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// Name resolution failed.
    #[error("could not resolve host name {host}: {source}")]
    Dns {
        /// The name.
        host: String,
        /// What the resolver said.
        source: io::Error,
    },
    /// The name resolved to no address.
    #[error("host name {host} resolved to no addresses")]
    NoAddress {
        /// The name.
        host: String,
    },
    /// Every address of the host is refused.
    #[error("{0}")]
    Denied(#[from] EgressDenied),
}

/// Why a TCP connection under the policy failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// No permitted address.
    #[error("{0}")]
    Resolve(#[from] ResolveError),
    /// No permitted address accepted the connection.
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl EgressPolicy {
    /// A policy refusing `deny`, and everything outside `allow` when it is not empty.
    pub fn new(deny: CidrList, allow: CidrList) -> Self {
        Self { deny, allow }
    }

    /// Whether connections to `ip` are permitted.
    pub fn check(&self, ip: IpAddr) -> Result<(), EgressDenied> {
        let ip = ip.to_canonical();
        let judged = match ip {
            IpAddr::V4(v4) if v4.is_unspecified() => vec![ip, IpAddr::V4(Ipv4Addr::LOCALHOST)],
            IpAddr::V6(v6) if v6.is_unspecified() => vec![ip, IpAddr::V6(Ipv6Addr::LOCALHOST)],
            _ => vec![ip],
        };
        for candidate in judged {
            if let Some(net) = self.deny.matching(candidate) {
                return Err(EgressDenied {
                    address: ip,
                    reason: Refusal::Denied(*net),
                });
            }
            if !self.allow.is_empty() && self.allow.matching(candidate).is_none() {
                return Err(EgressDenied {
                    address: ip,
                    reason: Refusal::NotAllowed,
                });
            }
        }
        Ok(())
    }

    /// Checks a URL whose host is an IP literal (which no resolver sees); names pass here
    /// and are checked when they are resolved.
    pub fn check_url(&self, url: &Url) -> Result<(), EgressDenied> {
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.check(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) | None => Ok(()),
        }
    }

    /// The permitted addresses of `host` (a name, or an IP literal with or without
    /// brackets) with `port`; refused when none is permitted.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, ResolveError> {
        let literal = host
            .strip_prefix('[')
            .and_then(|inner| inner.strip_suffix(']'))
            .unwrap_or(host);
        if let Ok(ip) = literal.parse::<IpAddr>() {
            self.check(ip)?;
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|source| ResolveError::Dns {
                host: host.to_owned(),
                source,
            })?
            .collect();
        let mut refused = None;
        let mut permitted = Vec::with_capacity(resolved.len());
        for addr in resolved {
            match self.check(addr.ip()) {
                Ok(()) => permitted.push(addr),
                Err(denied) => refused = refused.or(Some(denied)),
            }
        }
        match (permitted.is_empty(), refused) {
            (false, _) => Ok(permitted),
            (true, Some(denied)) => Err(denied.into()),
            (true, None) => Err(ResolveError::NoAddress {
                host: host.to_owned(),
            }),
        }
    }

    /// A TCP connection to the first permitted address of `host` that accepts one.
    pub async fn connect_tcp(&self, host: &str, port: u16) -> Result<TcpStream, ConnectError> {
        let addrs = self.resolve(host, port).await?;
        Ok(TcpStream::connect(&addrs[..]).await?)
    }
}

/// The refusal somewhere in an error's chain of causes (also inside `io::Error`s).
pub fn denial_in<'e>(error: &'e (dyn StdError + 'static)) -> Option<&'e EgressDenied> {
    let mut current = Some(error);
    let mut depth = 0;
    while let Some(error) = current {
        if let Some(denied) = error.downcast_ref::<EgressDenied>() {
            return Some(denied);
        }
        depth += 1;
        if depth > 32 {
            return None;
        }
        // `io::Error::source` skips the error it wraps; look inside it.
        current = match error
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => error.source(),
        };
    }
    None
}

/// Resolves names for reqwest, handing it only permitted addresses.
struct EgressResolver(Arc<EgressPolicy>);

impl Resolve for EgressResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = policy.resolve(&host, 0).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// A reqwest client whose every connection, redirect hops included, obeys the policy.
#[derive(Debug, Clone)]
pub struct EgressClient {
    client: reqwest::Client,
    policy: Arc<EgressPolicy>,
}

impl EgressClient {
    /// Builds `builder` under `policy`: names resolve through the policy, no proxy
    /// is used (a proxy would dial on its own), and redirects are followed up to
    /// `max_redirects` hops, each checked, or not at all with `None`.
    pub fn new(
        policy: Arc<EgressPolicy>,
        builder: reqwest::ClientBuilder,
        max_redirects: Option<usize>,
    ) -> reqwest::Result<Self> {
        let redirects = match max_redirects {
            None => redirect::Policy::none(),
            Some(max) => {
                let limit = redirect::Policy::limited(max);
                let hops = policy.clone();
                redirect::Policy::custom(move |attempt| match hops.check_url(attempt.url()) {
                    Ok(()) => limit.redirect(attempt),
                    Err(denied) => attempt.error(denied),
                })
            }
        };
        let client = builder
            .no_proxy()
            .dns_resolver(Arc::new(EgressResolver(policy.clone())))
            .redirect(redirects)
            .build()?;
        Ok(Self { client, policy })
    }

    /// A request to `url`, unless its host is a refused IP literal.
    pub fn request(&self, method: Method, url: Url) -> Result<RequestBuilder, EgressDenied> {
        self.policy.check_url(&url)?;
        Ok(self.client.request(method, url))
    }
}

#[cfg(test)]
mod tests;
