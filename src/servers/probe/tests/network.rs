//! TCP, HOST, name resolution and timeouts against loopback servers.

use super::*;

#[tokio::test]
async fn tcp_closed_port_is_refused() {
    let port = closed_port().await;
    let outcome = probe(&target(ServerKind::Tcp, &format!("127.0.0.1:{port}"))).await;
    assert!(!outcome.success);
    assert_eq!(
        outcome.error_kind,
        Some(ProbeErrorKind::Refused),
        "{outcome:?}"
    );
    assert!(outcome.message.contains("refused"), "{}", outcome.message);
}

#[tokio::test]
async fn tcp_open_port_succeeds() {
    let addr = silent_server().await;
    let outcome = probe(&target(ServerKind::Tcp, &addr.to_string())).await;
    assert!(outcome.success, "{outcome:?}");
    assert_eq!(outcome.error_kind, None);
    assert!(outcome.latency_ms >= 0.0);
    // localhost resolves, and the probe tries every address it resolves to.
    let outcome = probe(&target(
        ServerKind::Tcp,
        &format!("localhost:{}", addr.port()),
    ))
    .await;
    assert!(outcome.success, "{outcome:?}");
}

#[tokio::test]
async fn unresolvable_names_are_dns_errors() {
    for (kind, address) in [
        (ServerKind::Tcp, "no-such-host.invalid:80"),
        (ServerKind::Host, "no-such-host.invalid"),
        (ServerKind::Http, "http://no-such-host.invalid/health"),
        (ServerKind::Postgres, "no-such-host.invalid"),
        (ServerKind::Mysql, "no-such-host.invalid:3306"),
        (ServerKind::Redis, "no-such-host.invalid"),
    ] {
        let outcome = probe(&target(kind, address)).await;
        assert!(!outcome.success);
        assert_eq!(
            outcome.error_kind,
            Some(ProbeErrorKind::Dns),
            "{kind:?}: {outcome:?}"
        );
        assert!(
            outcome.message.contains("no-such-host.invalid"),
            "{}",
            outcome.message
        );
    }
}

#[tokio::test]
async fn host_probe_resolves() {
    let outcome = probe(&target(ServerKind::Host, "localhost")).await;
    assert!(outcome.success, "{outcome:?}");
    assert!(outcome.message.contains("127.0.0.1") || outcome.message.contains("::1"));
    let outcome = probe(&target(ServerKind::Host, "[::1]")).await;
    assert!(outcome.success, "{outcome:?}");
}

#[tokio::test]
async fn silent_server_times_out() {
    let addr = silent_server().await;
    for kind in [
        ServerKind::Postgres,
        ServerKind::Mysql,
        ServerKind::Redis,
        ServerKind::Http,
    ] {
        let address = if kind == ServerKind::Http {
            format!("http://{addr}/")
        } else {
            addr.to_string()
        };
        let mut t = target(kind, &address);
        t.password = Some(PASSWORD.into());
        t.timeout = Duration::from_millis(300);
        let started = Instant::now();
        let outcome = probe(&t).await;
        let took = started.elapsed();
        assert!(!outcome.success);
        assert_eq!(
            outcome.error_kind,
            Some(ProbeErrorKind::TimedOut),
            "{kind:?}: {outcome:?}"
        );
        assert!(took < Duration::from_millis(1500), "{kind:?} took {took:?}");
        assert!(outcome.latency_ms >= 290.0, "{outcome:?}");
        assert!(outcome.message.contains("300 ms"), "{}", outcome.message);
        assert_no_password(&outcome);
    }
}
