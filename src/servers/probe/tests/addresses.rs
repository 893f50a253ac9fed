//! Address checks.

use super::*;

#[test]
fn address_validation() {
    use ServerKind::*;
    let ok = [
        (Http, "http://127.0.0.1:8080/health"),
        (Http, "https://example.com"),
        (Http, "http://[::1]:8080/"),
        (Tcp, "127.0.0.1:5432"),
        (Tcp, "db.internal:1"),
        (Tcp, "[::1]:65535"),
        (Postgres, "localhost"),
        (Postgres, "localhost:5433"),
        (Mysql, "[::1]"),
        (Mysql, "::1"),
        (Redis, "cache_1.example.com."),
        (Host, "example.com"),
        (Host, "10.0.0.1"),
        (Host, "::1"),
        (Host, "[fe80::1]"),
    ];
    for (kind, address) in ok {
        assert_eq!(
            validate_address(kind, address),
            Ok(()),
            "{kind:?} {address}"
        );
    }
    let bad = [
        (Http, "ftp://example.com"),
        (Http, "example.com"),
        (Http, "http://"),
        (Http, "http://example.com:0/"),
        (Http, "http://exa mple.com/"),
        (Http, ""),
        (Tcp, "127.0.0.1"),
        (Tcp, "127.0.0.1:0"),
        (Tcp, "127.0.0.1:65536"),
        (Tcp, "127.0.0.1:http"),
        (Tcp, "127.0.0.1:"),
        (Tcp, "::1:80"),
        (Tcp, "[::1]"),
        (Tcp, "[::1"),
        (Tcp, "[nope]:80"),
        (Tcp, "-bad-.example:80"),
        (Tcp, "999.1.1.1:80"),
        (Postgres, "postgres://localhost:5432"),
        (Postgres, "user@localhost"),
        (Postgres, "host:5432/db"),
        (Postgres, " localhost"),
        (Redis, ""),
        (Host, "example.com:80"),
        (Host, "http://example.com"),
        (Host, "a..b"),
    ];
    for (kind, address) in bad {
        assert!(
            validate_address(kind, address).is_err(),
            "{kind:?} {address:?} accepted"
        );
    }
    assert_eq!(
        parse_host_port("[::1]", Some(5432)).unwrap().to_string(),
        "[::1]:5432"
    );
    assert_eq!(parse_host_port("db", Some(6379)).unwrap().port, 6379);
}

#[tokio::test]
async fn bad_address_is_reported_without_connecting() {
    let outcome = probe(&target(ServerKind::Tcp, "localhost")).await;
    assert!(!outcome.success);
    assert_eq!(outcome.error_kind, Some(ProbeErrorKind::BadAddress));
    assert!(outcome.message.contains("port"), "{}", outcome.message);
}
