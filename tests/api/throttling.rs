//! Registration and login limits, and the bound on password hashes computed at once.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::backend_test;
use crate::support::client::{Reply, AUTH_FIELDS};
use crate::support::{Backend, TestApp};

const CHANGE_PASSWORD: &str =
    "mutation($input: ChangePasswordInput!) { changePassword(input: $input) { user { id } } }";

/// A loopback address of this test's own (127.x.y.z), so that its per-address counters,
/// shared through Redis with every other test, start at zero.
fn own_loopback_address() -> IpAddr {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    IpAddr::V4(Ipv4Addr::new(127, bytes[0], bytes[1], bytes[2].max(2)))
}

/// Registers `username` over a connection from `from`; returns the raw reply.
async fn register_from(app: &TestApp, from: IpAddr, username: &str) -> Reply {
    let client = reqwest::Client::builder()
        .local_address(from)
        .build()
        .expect("client");
    let body = json!({
        "query": format!("mutation($input: RegisterInput!) {{ register(input: $input) {{ {AUTH_FIELDS} }} }}"),
        "variables": { "input": {
            "username": username,
            "email": format!("{username}@example.com"),
            "password": format!("{username}-password"),
        } },
    });
    let response = client
        .post(app.url("/graphql"))
        .json(&body)
        .send()
        .await
        .expect("POST /graphql");
    Reply(response.json::<Value>().await.expect("JSON reply"))
}

backend_test! {
    async fn registration_is_rate_limited_per_address(backend: Backend) {
        let app = TestApp::builder(backend)
            .config(|config| {
                config.auth.register_limit_per_address = 3;
                config.auth.register_window = 600;
            })
            .start()
            .await;
        let crowded = own_loopback_address();
        for name in ["reg1", "reg2", "reg3"] {
            register_from(&app, crowded, name).await.ok();
        }
        let limited = register_from(&app, crowded, "reg4").await;
        assert_eq!(limited.code(), "RATE_LIMITED");
        let retry_after = limited.extension("retryAfter").as_u64().unwrap();
        assert!((1..=600).contains(&retry_after), "{retry_after}");
        // Nothing was stored for the refused one, and other addresses still register.
        assert_eq!(app.login("reg4", "reg4-password").await.code(), "UNAUTHENTICATED");
        register_from(&app, own_loopback_address(), "reg4").await.ok();
    }
}

backend_test! {
    async fn a_burst_of_logins_and_registrations_waits_for_the_hasher(backend: Backend) {
        let app = TestApp::builder(backend)
            .config(|config| config.auth.password_hash_concurrency = Some(2))
            .start()
            .await;
        let ada = app.register("ada").await;
        let logins = (0..24).map(|i| {
            let login = if i % 2 == 0 { "ada" } else { "ada@example.com" };
            app.login(login, &ada.password)
        });
        for reply in join_all(logins).await {
            assert_eq!(reply.ok().data("login.user.id"), ada.id.as_str());
        }
        let app = &app;
        let registrations = (0..12).map(|i| {
            let name = format!("burst{i}");
            async move { (app.register(&name).await, name) }
        });
        for (account, name) in join_all(registrations).await {
            assert_eq!(app.me(&account.access_token).await.ok().data("me.username"), name.as_str());
        }
        let peak = app.app.passwords.peak_in_flight();
        assert!((1..=2).contains(&peak), "{peak} hashes ran at once");
    }
}

backend_test! {
    async fn username_and_email_count_against_one_account(backend: Backend) {
        let app = TestApp::builder(backend)
            .config(|config| config.auth.login_limit_per_name = 4)
            .start()
            .await;
        let name = format!("shared{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let email = format!("{name}@example.com");
        app.register(&name).await;
        for login in [&name, &email, &name.to_uppercase(), &email] {
            assert_eq!(app.login(login, "wrong-password").await.code(), "UNAUTHENTICATED");
        }
        assert_eq!(app.login(&name, "wrong-password").await.code(), "RATE_LIMITED");

        // A name that matches no account is counted on its own, like any string.
        let unknown = format!("ghost{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        for _ in 0..4 {
            assert_eq!(app.login(&unknown, "wrong-password").await.code(), "UNAUTHENTICATED");
        }
        assert_eq!(app.login(&unknown.to_uppercase(), "wrong-password").await.code(), "RATE_LIMITED");
        let other_unknown = format!("{unknown}@example.com");
        assert_eq!(app.login(&other_unknown, "wrong-password").await.code(), "UNAUTHENTICATED");
    }
}

backend_test! {
    async fn a_correct_password_gets_through_a_lockout_at_the_slow_pace(backend: Backend) {
        let app = TestApp::builder(backend)
            .config(|config| {
                config.auth.login_limit_per_name = 3;
                config.auth.login_lockout_pace = 3600;
            })
            .start()
            .await;
        let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
        let (ada_name, bob_name) = (format!("ada{suffix}"), format!("bob{suffix}"));
        let ada = app.register(&ada_name).await;
        let bob = app.register(&bob_name).await;
        for name in [&ada_name, &bob_name] {
            for _ in 0..3 {
                assert_eq!(app.login(name, "wrong-password").await.code(), "UNAUTHENTICATED");
            }
        }
        // Both are locked out now. Ada's first try on the slow pace is her own password: in.
        let inside = app.login(&ada_name, &ada.password).await.ok();
        assert_eq!(inside.data("login.user.id"), ada.id.as_str());
        // The pace is spent for the hour: even the right password waits.
        let waiting = app.login(&ada_name, &ada.password).await;
        assert_eq!(waiting.code(), "RATE_LIMITED");
        assert!(waiting.extension("retryAfter").as_u64().unwrap() > 0);
        // Someone guessing Bob's password spends his try with a wrong one and is refused.
        let guess = app.login(&bob_name, "another-guess").await;
        assert_eq!(guess.code(), "RATE_LIMITED");
        assert_eq!(app.login(&bob_name, &bob.password).await.code(), "RATE_LIMITED");
        // Checking the current password in changePassword counts against the same limit.
        let change = app
            .graphql(
                Some(&bob.access_token),
                CHANGE_PASSWORD,
                json!({ "input": { "currentPassword": "another-guess", "newPassword": "brand-new-pass" } }),
            )
            .await;
        assert_eq!(change.code(), "RATE_LIMITED");
    }
}

backend_test! {
    async fn during_a_lockout_wrong_passwords_are_refused_and_right_ones_get_in(backend: Backend) {
        let app = TestApp::builder(backend)
            .config(|config| {
                config.auth.login_limit_per_name = 3;
                // No pause between paced checks (Redis keeps a paced slot for one second).
                config.auth.login_lockout_pace = 0;
            })
            .start()
            .await;
        let name = format!("paced{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let account = app.register(&name).await;
        for _ in 0..3 {
            assert_eq!(app.login(&name, "wrong-password").await.code(), "UNAUTHENTICATED");
        }
        for _ in 0..3 {
            assert_eq!(app.login(&name, "wrong-password").await.code(), "RATE_LIMITED");
            let inside = login_once_the_pace_allows(&app, &name, &account.password).await;
            assert_eq!(inside.data("login.user.id"), account.id.as_str());
        }
    }
}

/// Logs in with the right password, trying again while the paced slot is taken.
async fn login_once_the_pace_allows(app: &TestApp, name: &str, password: &str) -> Reply {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let reply = app.login(name, password).await;
        let limited = reply.0["errors"][0]["extensions"]["code"] == "RATE_LIMITED";
        if !limited || Instant::now() > deadline {
            return reply.ok();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
