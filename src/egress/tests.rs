use super::*;

fn policy(deny: &str, allow: &str) -> EgressPolicy {
    EgressPolicy::new(
        CidrList::parse(deny).unwrap(),
        CidrList::parse(allow).unwrap(),
    )
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn lists_take_cidr_blocks_and_bare_addresses() {
    let list = CidrList::parse(" 10.0.0.0/8, 192.168.1.7 ,fd00::/8,,").unwrap();
    assert_eq!(list.to_string(), "10.0.0.0/8,192.168.1.7/32,fd00::/8");
    assert!(CidrList::parse("").unwrap().is_empty());
    let error = CidrList::parse("10.0.0.0/8,example.com").unwrap_err();
    assert!(error.contains("\"example.com\""), "{error}");
    assert!(CidrList::parse("10.0.0.0/33").is_err());
}

#[test]
fn the_default_denies_link_local_and_metadata_and_allows_internal_ranges() {
    let policy = EgressPolicy::default();
    for refused in [
        "169.254.169.254",
        "169.254.0.1",
        "fe80::1",
        "fd00:ec2::254",
        "100.100.100.200",
        "::ffff:169.254.169.254",
    ] {
        assert!(policy.check(ip(refused)).is_err(), "{refused} permitted");
    }
    for permitted in [
        "127.0.0.1",
        "::1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.0.10",
        "fd00::1",
        "100.100.100.201",
        "93.184.216.34",
        "0.0.0.0",
    ] {
        assert!(policy.check(ip(permitted)).is_ok(), "{permitted} refused");
    }
}

#[test]
fn deny_wins_and_allow_narrows() {
    let policy = policy("10.0.0.0/24", "10.0.0.0/8");
    let denied = policy.check(ip("10.0.0.5")).unwrap_err();
    assert_eq!(
        denied.to_string(),
        "the egress policy refuses 10.0.0.5 (10.0.0.0/24 is in TIDEWATCH_EGRESS_DENY)"
    );
    assert!(policy.check(ip("10.9.0.5")).is_ok());
    let outside = policy.check(ip("192.168.0.1")).unwrap_err();
    assert_eq!(
        outside.to_string(),
        "the egress policy refuses 192.168.0.1 (not in TIDEWATCH_EGRESS_ALLOW)"
    );
}

#[test]
fn mapped_and_unspecified_addresses_cannot_slip_past() {
    let policy = policy("127.0.0.0/8,::1/128", "");
    // IPv4-mapped IPv6 is the IPv4 address it carries.
    assert!(policy.check(ip("::ffff:127.0.0.1")).is_err());
    // 0.0.0.0 and :: reach this host: judged as loopback too.
    assert!(policy.check(ip("0.0.0.0")).is_err());
    assert!(policy.check(ip("::")).is_err());
}

#[test]
fn literal_ip_urls_are_checked_and_names_left_to_the_resolver() {
    let policy = EgressPolicy::default();
    let url = |text: &str| Url::parse(text).unwrap();
    assert!(policy
        .check_url(&url("http://169.254.169.254/latest"))
        .is_err());
    assert!(policy.check_url(&url("http://[fe80::1]:8080/")).is_err());
    // The URL parser normalises other spellings of an IPv4 address.
    assert!(policy.check_url(&url("http://0xa9fea9fe/")).is_err());
    assert!(policy.check_url(&url("http://metadata.example/")).is_ok());
}

#[tokio::test]
async fn names_resolve_to_permitted_addresses_only() {
    let policy = policy("127.0.0.0/8,::1/128", "");
    match policy.resolve("localhost", 80).await {
        Err(ResolveError::Denied(denied)) => assert!(denied.address.is_loopback()),
        other => panic!("localhost permitted: {other:?}"),
    }
    match policy.resolve("[::1]", 80).await {
        Err(ResolveError::Denied(_)) => {}
        other => panic!("[::1] permitted: {other:?}"),
    }
    let only_v4 = EgressPolicy::new(CidrList::parse("::1/128").unwrap(), CidrList::default());
    let addrs = only_v4.resolve("localhost", 80).await.unwrap();
    assert!(
        addrs.iter().all(|addr| addr.ip() == ip("127.0.0.1")),
        "{addrs:?}"
    );
    assert!(matches!(
        EgressPolicy::default()
            .resolve("no-such-host.invalid", 80)
            .await,
        Err(ResolveError::Dns { .. })
    ));
}

#[tokio::test]
async fn tcp_connections_go_to_permitted_addresses_only() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let permitted = EgressPolicy::default().connect_tcp("localhost", port).await;
    assert!(permitted.is_ok(), "{permitted:?}");
    let refused = policy("127.0.0.0/8,::1/128", "")
        .connect_tcp("127.0.0.1", port)
        .await;
    assert!(matches!(
        refused,
        Err(ConnectError::Resolve(ResolveError::Denied(_)))
    ));
}

#[test]
fn refusals_are_found_inside_wrapped_errors() {
    let denied = EgressPolicy::default()
        .check(ip("169.254.169.254"))
        .unwrap_err();
    let wrapped = io::Error::new(io::ErrorKind::PermissionDenied, denied.clone());
    assert_eq!(denial_in(&wrapped), Some(&denied));
    let resolving = ConnectError::from(ResolveError::from(denied.clone()));
    assert_eq!(denial_in(&resolving), Some(&denied));
    let unrelated = io::Error::other("boom");
    assert_eq!(denial_in(&unrelated), None);
}

#[tokio::test]
async fn http_clients_refuse_literal_ips_names_and_redirect_hops() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let deny_loopback = Arc::new(policy("127.0.0.0/8,::1/128", ""));
    let client = EgressClient::new(deny_loopback, reqwest::Client::builder(), Some(10)).unwrap();
    let literal = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    assert!(client.request(Method::GET, literal).is_err());
    // A name goes through the filtering resolver.
    let named = Url::parse(&format!("http://localhost:{port}/")).unwrap();
    let error = client
        .request(Method::GET, named)
        .unwrap()
        .send()
        .await
        .unwrap_err();
    assert!(denial_in(&error).is_some(), "{error:?}");
}
