//! The egress policy: refused addresses are reported and never dialled.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::egress::CidrList;

use super::*;

fn target_under(kind: ServerKind, address: &str, deny: &str, allow: &str) -> ProbeTarget {
    let policy = EgressPolicy::new(
        CidrList::parse(deny).unwrap(),
        CidrList::parse(allow).unwrap(),
    );
    ProbeTarget::new(kind, address, ProbeNetwork::new(Arc::new(policy)))
}

/// A loopback listener counting the connections it accepts.
async fn counting_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    (addr, accepted)
}

fn every_kind(addr: SocketAddr) -> Vec<(ServerKind, String)> {
    let port = addr.port();
    vec![
        (ServerKind::Tcp, addr.to_string()),
        (ServerKind::Http, format!("http://{addr}/health")),
        (ServerKind::Postgres, addr.to_string()),
        (ServerKind::Mysql, addr.to_string()),
        (ServerKind::Redis, addr.to_string()),
        // Names are checked on what they resolve to.
        (ServerKind::Tcp, format!("localhost:{port}")),
        (ServerKind::Http, format!("http://localhost:{port}/health")),
        (ServerKind::Postgres, format!("localhost:{port}")),
    ]
}

#[tokio::test]
async fn denied_addresses_are_refused_for_every_kind_without_a_connection() {
    let (addr, accepted) = counting_server().await;
    for (kind, address) in every_kind(addr) {
        let outcome = probe(&target_under(kind, &address, "127.0.0.0/8,::1/128", "")).await;
        assert!(!outcome.success, "{kind:?} {address}: {outcome:?}");
        assert_eq!(
            outcome.error_kind,
            Some(ProbeErrorKind::EgressDenied),
            "{kind:?} {address}: {outcome:?}"
        );
        assert!(
            outcome.message.contains("TIDEWATCH_EGRESS_DENY")
                && (outcome.message.contains("127.0.0.1") || outcome.message.contains("::1")),
            "{kind:?}: {}",
            outcome.message
        );
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        0,
        "a refused address was dialled"
    );
}

#[tokio::test]
async fn addresses_outside_the_allow_list_are_refused() {
    let (addr, accepted) = counting_server().await;
    for (kind, address) in every_kind(addr) {
        let outcome = probe(&target_under(kind, &address, "", "10.0.0.0/8")).await;
        assert_eq!(
            outcome.error_kind,
            Some(ProbeErrorKind::EgressDenied),
            "{kind:?} {address}: {outcome:?}"
        );
        assert!(
            outcome.message.contains("not in TIDEWATCH_EGRESS_ALLOW"),
            "{}",
            outcome.message
        );
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 0);
    // Inside the allow list, the same server is reached.
    let outcome = probe(&target_under(
        ServerKind::Tcp,
        &addr.to_string(),
        "",
        "127.0.0.0/8,::1/128",
    ))
    .await;
    assert!(outcome.success, "{outcome:?}");
}

#[tokio::test]
async fn the_default_policy_refuses_cloud_metadata_and_link_local() {
    for (kind, address) in [
        (ServerKind::Tcp, "169.254.169.254:80"),
        (ServerKind::Http, "http://169.254.169.254/latest/meta-data/"),
        (ServerKind::Postgres, "169.254.169.254"),
        (ServerKind::Mysql, "169.254.169.254:3306"),
        (ServerKind::Redis, "169.254.169.254"),
        (ServerKind::Http, "http://100.100.100.200/latest/meta-data/"),
        (ServerKind::Tcp, "[fd00:ec2::254]:80"),
        (ServerKind::Tcp, "[fe80::1]:80"),
        // An IPv4-mapped IPv6 address is judged as the IPv4 address it carries.
        (ServerKind::Http, "http://[::ffff:169.254.169.254]/"),
    ] {
        let outcome = probe(&target(kind, address)).await;
        assert_eq!(
            outcome.error_kind,
            Some(ProbeErrorKind::EgressDenied),
            "{kind:?} {address}: {outcome:?}"
        );
    }
}
