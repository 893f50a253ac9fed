//! Probes of real PostgreSQL, MySQL/MariaDB and Redis servers, when their variable is set.

use super::*;

#[tokio::test]
async fn postgres_live() {
    let Some((address, url)) = service("TEST_DATABASE_URL") else {
        return;
    };
    let mut t = target(ServerKind::Postgres, &address);
    t.username = Some(url.username().to_owned()).filter(|u| !u.is_empty());
    t.password = url.password().map(str::to_owned);
    let outcome = probe(&t).await;
    assert!(outcome.success, "{outcome:?}");
    let version = outcome.version.expect("version");
    assert!(
        version.chars().next().unwrap().is_ascii_digit(),
        "{version}"
    );

    // TCP probe of the same port.
    let outcome = probe(&target(ServerKind::Tcp, &address)).await;
    assert!(outcome.success, "{outcome:?}");

    // An unknown role fails with SQLSTATE 28000 even under trust auth.
    let mut t = target(ServerKind::Postgres, &address);
    t.username = Some("tidewatch_no_such_role".into());
    t.password = Some(PASSWORD.into());
    let outcome = probe(&t).await;
    assert!(!outcome.success);
    assert_eq!(
        outcome.error_kind,
        Some(ProbeErrorKind::AuthenticationFailed),
        "{outcome:?}"
    );
    assert!(outcome.message.contains("28000"), "{}", outcome.message);
    assert_no_password(&outcome);

    // A missing database is reported, not as an authentication failure.
    let mut t = target(ServerKind::Postgres, &address);
    t.database = Some("tidewatch_no_such_db".into());
    let outcome = probe(&t).await;
    assert_eq!(
        outcome.error_kind,
        Some(ProbeErrorKind::Other),
        "{outcome:?}"
    );
    assert!(outcome.message.contains("3D000"), "{}", outcome.message);
}

#[tokio::test]
async fn postgres_wrong_password_when_server_checks_passwords() {
    // Only meaningful where pg_hba.conf asks for passwords on TCP; under
    // trust auth the login succeeds whatever the password, so we just check
    // that the outcome never echoes it.
    let Some((address, _)) = service("TEST_DATABASE_URL") else {
        return;
    };
    let mut t = target(ServerKind::Postgres, &address);
    t.username = Some("postgres".into());
    t.password = Some(PASSWORD.into());
    let outcome = probe(&t).await;
    if !outcome.success {
        assert_eq!(
            outcome.error_kind,
            Some(ProbeErrorKind::AuthenticationFailed),
            "{outcome:?}"
        );
    }
    assert_no_password(&outcome);
}

#[tokio::test]
async fn postgres_password_auth_live() {
    // Needs a server that checks passwords on TCP (scram or md5 in pg_hba.conf);
    // the URL carries the right password, e.g.
    // TEST_PG_PASSWORD_URL=postgres://postgres:secret@127.0.0.1:55432/postgres
    let Some((address, url)) = service("TEST_PG_PASSWORD_URL") else {
        return;
    };
    let mut t = target(ServerKind::Postgres, &address);
    t.username = Some(url.username().to_owned());
    t.password = url.password().map(str::to_owned);
    let outcome = probe(&t).await;
    assert!(outcome.success, "{outcome:?}");

    t.password = Some(PASSWORD.into());
    let outcome = probe(&t).await;
    assert_eq!(
        outcome.error_kind,
        Some(ProbeErrorKind::AuthenticationFailed),
        "{outcome:?}"
    );
    assert!(outcome.message.contains("28P01"), "{}", outcome.message);
    assert_no_password(&outcome);

    t.password = None;
    let outcome = probe(&t).await;
    assert_eq!(
        outcome.error_kind,
        Some(ProbeErrorKind::AuthenticationFailed),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn mysql_live() {
    let Some((address, url)) = service("TEST_MYSQL_URL") else {
        return;
    };
    let user = Some(url.username().to_owned()).filter(|u| !u.is_empty());
    let database = Some(url.path().trim_start_matches('/').to_owned()).filter(|d| !d.is_empty());
    let mut t = target(ServerKind::Mysql, &address);
    t.username = user.clone();
    t.password = url.password().map(str::to_owned);
    t.database = database.clone();
    let outcome = probe(&t).await;
    assert!(outcome.success, "{outcome:?}");
    let version = outcome.version.expect("version");
    assert!(
        version.chars().next().unwrap().is_ascii_digit(),
        "{version}"
    );

    // A wrong password is rejected with error 1045.
    let mut t = target(ServerKind::Mysql, &address);
    t.username = user;
    t.password = Some(PASSWORD.into());
    t.database = database;
    let outcome = probe(&t).await;
    assert!(!outcome.success);
    assert_eq!(
        outcome.error_kind,
        Some(ProbeErrorKind::AuthenticationFailed),
        "{outcome:?}"
    );
    assert!(outcome.message.contains("1045"), "{}", outcome.message);
    assert_no_password(&outcome);

    // An unknown user is rejected the same way.
    let mut t = target(ServerKind::Mysql, &address);
    t.username = Some("tidewatch_no_such_user".into());
    t.password = Some(PASSWORD.into());
    let outcome = probe(&t).await;
    assert_eq!(
        outcome.error_kind,
        Some(ProbeErrorKind::AuthenticationFailed),
        "{outcome:?}"
    );
    assert_no_password(&outcome);
}

#[tokio::test]
async fn redis_live() {
    let Some((address, _)) = service("TEST_REDIS_URL") else {
        return;
    };
    let outcome = probe(&target(ServerKind::Redis, &address)).await;
    assert!(outcome.success, "{outcome:?}");
    let version = outcome.version.expect("version");
    assert!(
        version.chars().next().unwrap().is_ascii_digit(),
        "{version}"
    );

    // A password sent to a server that has none (Redis 6+: ERR AUTH ... without
    // any password configured) counts as an authentication failure. On a
    // server with a password, a wrong one gives WRONGPASS: the same kind.
    let mut t = target(ServerKind::Redis, &address);
    t.password = Some(PASSWORD.into());
    let outcome = probe(&t).await;
    assert!(!outcome.success);
    assert_eq!(
        outcome.error_kind,
        Some(ProbeErrorKind::AuthenticationFailed),
        "{outcome:?}"
    );
    assert!(
        outcome.message.contains("no password set"),
        "{}",
        outcome.message
    );
    assert_no_password(&outcome);

    // An unknown ACL user gives WRONGPASS.
    let mut t = target(ServerKind::Redis, &address);
    t.username = Some("tidewatch_no_such_user".into());
    t.password = Some(PASSWORD.into());
    let outcome = probe(&t).await;
    assert!(!outcome.success);
    assert_eq!(
        outcome.error_kind,
        Some(ProbeErrorKind::AuthenticationFailed),
        "{outcome:?}"
    );
    assert!(outcome.message.contains("WRONGPASS"), "{}", outcome.message);
    assert_no_password(&outcome);

    // Another database number is selected.
    let mut t = target(ServerKind::Redis, &address);
    t.database = Some("1".into());
    assert!(probe(&t).await.success);
    t.database = Some("100000".into());
    let outcome = probe(&t).await;
    assert!(!outcome.success, "{outcome:?}");

    // A database number that is not a number.
    let mut t = target(ServerKind::Redis, &address);
    t.database = Some("zero".into());
    let outcome = probe(&t).await;
    assert_eq!(
        outcome.error_kind,
        Some(ProbeErrorKind::BadAddress),
        "{outcome:?}"
    );
}
