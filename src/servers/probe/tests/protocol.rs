//! A database probe against something that is not that database.

use super::*;

#[tokio::test]
async fn database_probe_against_http_server_is_protocol_error() {
    let addr = serve(
        "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
        true,
    )
    .await;
    for kind in [ServerKind::Postgres, ServerKind::Mysql, ServerKind::Redis] {
        let mut t = target(kind, &addr.to_string());
        t.password = Some(PASSWORD.into());
        // MySQL clients wait for the server to speak first: they time out here.
        t.timeout = Duration::from_secs(1);
        let outcome = probe(&t).await;
        assert!(!outcome.success, "{kind:?}");
        let expected = if kind == ServerKind::Mysql {
            ProbeErrorKind::TimedOut
        } else {
            ProbeErrorKind::Protocol
        };
        assert_eq!(outcome.error_kind, Some(expected), "{kind:?}: {outcome:?}");
        assert_no_password(&outcome);
    }
}
