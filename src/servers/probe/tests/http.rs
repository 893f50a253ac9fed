//! HTTP probes against loopback servers.

use super::*;

#[tokio::test]
async fn http_ok_reports_status() {
    let addr =
        raw_server("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".into())
            .await;
    let outcome = probe(&target(ServerKind::Http, &format!("http://{addr}/health"))).await;
    assert!(outcome.success, "{outcome:?}");
    assert_eq!(outcome.http_status, Some(200));
    assert_eq!(outcome.error_kind, None);
    assert!(outcome.message.contains("200"), "{}", outcome.message);
}

#[tokio::test]
async fn http_redirect_is_success_and_hides_password() {
    let location = format!("http://admin:{PASSWORD}@127.0.0.1:1/next");
    let addr = raw_server(format!(
        "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    ))
    .await;
    let mut t = target(
        ServerKind::Http,
        &format!("http://admin:{PASSWORD}@{addr}/"),
    );
    t.password = Some(PASSWORD.into());
    let outcome = probe(&t).await;
    assert!(outcome.success, "{outcome:?}");
    assert_eq!(outcome.http_status, Some(302));
    assert!(
        outcome.message.contains("redirects to"),
        "{}",
        outcome.message
    );
    assert_no_password(&outcome);
}

#[tokio::test]
async fn http_error_status_fails_with_status() {
    let addr = raw_server(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
    )
    .await;
    let outcome = probe(&target(ServerKind::Http, &format!("http://{addr}/"))).await;
    assert!(!outcome.success);
    assert_eq!(outcome.http_status, Some(503));
    assert_eq!(outcome.error_kind, Some(ProbeErrorKind::Other));
    assert!(
        outcome.message.contains("503 Service Unavailable"),
        "{}",
        outcome.message
    );
}

#[tokio::test]
async fn http_refused_and_garbage() {
    let port = closed_port().await;
    let mut t = target(
        ServerKind::Http,
        &format!("http://user:{PASSWORD}@127.0.0.1:{port}/"),
    );
    t.password = Some(PASSWORD.into());
    let outcome = probe(&t).await;
    assert_eq!(
        outcome.error_kind,
        Some(ProbeErrorKind::Refused),
        "{outcome:?}"
    );
    assert_no_password(&outcome);

    let addr = raw_server("SSH-2.0-OpenSSH_9.2\r\n\r\n".into()).await;
    let outcome = probe(&target(ServerKind::Http, &format!("http://{addr}/"))).await;
    assert!(!outcome.success);
    assert_eq!(
        outcome.error_kind,
        Some(ProbeErrorKind::Protocol),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn https_against_plain_http_is_a_tls_error() {
    // A plain HTTP server answers the TLS ClientHello with a 400 in clear text.
    let addr = serve(
        "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
        true,
    )
    .await;
    let outcome = probe(&target(ServerKind::Http, &format!("https://{addr}/"))).await;
    assert!(!outcome.success);
    assert_eq!(outcome.error_kind, Some(ProbeErrorKind::Tls), "{outcome:?}");
}
