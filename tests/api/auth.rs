//! Sessions: register, login, refresh with rotation and reuse detection, logout, tokens.

use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::json;

use crate::backend_test;
use crate::support::{Backend, TestApp, TEST_JWT_SECRET};

backend_test! {
    async fn register_login_refresh_logout_cycle(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        assert_eq!(app.me(&ada.access_token).await.ok().data("me.username"), "ada");

        let login = app.login("ADA@example.com", &ada.password).await.ok();
        assert_eq!(login.data("login.tokenType"), "Bearer");
        assert_eq!(login.data("login.expiresIn"), 900);
        let first_refresh = login.data("login.refreshToken").as_str().unwrap().to_owned();

        // Rotation: each refresh gives a new pair, and the new pair works.
        let rotated = app.refresh(&first_refresh).await.ok();
        let second_refresh = rotated.data("refreshToken.refreshToken").as_str().unwrap().to_owned();
        let second_access = rotated.data("refreshToken.accessToken").as_str().unwrap().to_owned();
        assert_ne!(first_refresh, second_refresh);
        app.me(&second_access).await.ok();

        // Logout revokes the session's refresh token and its access tokens.
        let logout = app
            .graphql(Some(&second_access), "mutation { logout { success } }", json!({}))
            .await
            .ok();
        assert_eq!(logout.data("logout.success"), true);
        assert_eq!(app.me(&second_access).await.code(), "UNAUTHENTICATED");
        assert_eq!(app.refresh(&second_refresh).await.code(), "UNAUTHENTICATED");

        // The registration session is a different one and still works.
        app.me(&ada.access_token).await.ok();
    }
}

backend_test! {
    async fn reusing_a_refresh_token_revokes_its_whole_session(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        let rotated = app.refresh(&ada.refresh_token).await.ok();
        let new_access = rotated.data("refreshToken.accessToken").as_str().unwrap().to_owned();
        let new_refresh = rotated.data("refreshToken.refreshToken").as_str().unwrap().to_owned();

        let reuse = app.refresh(&ada.refresh_token).await;
        assert_eq!(reuse.code(), "UNAUTHENTICATED");
        // The thief's replay killed the family: the legitimate new pair is dead too.
        assert_eq!(app.refresh(&new_refresh).await.code(), "UNAUTHENTICATED");
        assert_eq!(app.me(&new_access).await.code(), "UNAUTHENTICATED");
        assert_eq!(app.me(&ada.access_token).await.code(), "UNAUTHENTICATED");
        // Logging in again opens a fresh session.
        app.login("ada", &ada.password).await.ok();
    }
}

backend_test! {
    async fn wrong_and_unknown_refresh_tokens_are_refused(backend: Backend) {
        let app = TestApp::start(backend).await;
        app.register("ada").await;
        assert_eq!(app.refresh("twr_not-a-token").await.code(), "UNAUTHENTICATED");
        assert_eq!(app.refresh("").await.code(), "UNAUTHENTICATED");
    }
}

backend_test! {
    async fn expired_forged_and_unsigned_tokens_are_unauthenticated(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        let claims = |iat: i64, exp: i64| {
            let family = decode_family(&ada.access_token);
            json!({ "sub": ada.id, "fam": family, "iat": iat, "exp": exp })
        };
        let now = chrono::Utc::now().timestamp();
        let key = EncodingKey::from_secret(TEST_JWT_SECRET.as_bytes());

        let expired = encode(&Header::default(), &claims(now - 3600, now - 60), &key).unwrap();
        let forged = encode(
            &Header::default(),
            &claims(now, now + 600),
            &EncodingKey::from_secret(b"some-other-key-some-other-key-some-other"),
        )
        .unwrap();
        let unsigned = unsigned_token(&claims(now, now + 600));
        let valid = encode(&Header::default(), &claims(now, now + 600), &key).unwrap();

        for token in [expired.as_str(), forged.as_str(), unsigned.as_str(), "garbage"] {
            let reply = app.me(token).await;
            assert_eq!(reply.code(), "UNAUTHENTICATED", "{token}");
            assert!(reply.0["data"].is_null());
        }
        // The same claims signed with the right key pass: the checks above are the signature's.
        app.me(&valid).await.ok();
        assert_eq!(
            app.graphql(None, "{ me { id } }", json!({})).await.code(),
            "UNAUTHENTICATED"
        );
    }
}

backend_test! {
    async fn wrong_password_and_unknown_login_look_alike(backend: Backend) {
        let app = TestApp::start(backend).await;
        app.register("ada").await;
        let wrong = app.login("ada", "not-the-password").await;
        let unknown = app.login("nobody", "not-the-password").await;
        assert_eq!(wrong.code(), "UNAUTHENTICATED");
        assert_eq!(unknown.code(), "UNAUTHENTICATED");
        assert_eq!(wrong.0["errors"][0]["message"], unknown.0["errors"][0]["message"]);
    }
}

backend_test! {
    async fn change_password_ends_other_sessions(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        let other = app.login("ada", &ada.password).await.ok();
        let other_token = other.data("login.accessToken").as_str().unwrap().to_owned();
        let change = "mutation($input: ChangePasswordInput!) { changePassword(input: $input) { user { username } } }";

        let wrong = app
            .graphql(
                Some(&ada.access_token),
                change,
                json!({ "input": { "currentPassword": "nope-nope", "newPassword": "brand-new-pass" } }),
            )
            .await;
        assert_eq!(wrong.code(), "BAD_USER_INPUT");
        assert_eq!(wrong.extension("field"), "currentPassword");
        let short = app
            .graphql(
                Some(&ada.access_token),
                change,
                json!({ "input": { "currentPassword": ada.password, "newPassword": "short" } }),
            )
            .await;
        assert_eq!(short.extension("field"), "newPassword");

        app.graphql(
            Some(&ada.access_token),
            change,
            json!({ "input": { "currentPassword": ada.password, "newPassword": "brand-new-pass" } }),
        )
        .await
        .ok();
        app.me(&ada.access_token).await.ok();
        assert_eq!(app.me(&other_token).await.code(), "UNAUTHENTICATED");
        assert_eq!(app.login("ada", &ada.password).await.code(), "UNAUTHENTICATED");
        app.login("ada", "brand-new-pass").await.ok();
    }
}

backend_test! {
    async fn tokens_survive_a_restart_with_the_same_key(backend: Backend) {
        let first = TestApp::start(backend).await;
        let ada = first.register("ada").await;
        let database = first.database.clone();
        first.stop().await;
        let second = TestApp::builder(backend).database(database).start().await;
        second.me(&ada.access_token).await.ok();
    }
}

backend_test! {
    async fn registration_can_be_switched_off(backend: Backend) {
        let app = TestApp::builder(backend)
            .config(|config| config.auth.allow_registration = false)
            .start()
            .await;
        let reply = app
            .graphql(
                None,
                "mutation { register(input: {username: \"ada\", email: \"ada@example.com\", password: \"long-enough\"}) { accessToken } }",
                json!({}),
            )
            .await;
        assert_eq!(reply.code(), "FORBIDDEN");
    }
}

/// The family id inside a token we issued.
fn decode_family(token: &str) -> String {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    claims["fam"].as_str().unwrap().to_owned()
}

/// A token with `alg: none` and no signature.
fn unsigned_token(claims: &serde_json::Value) -> String {
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = engine.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = engine.encode(claims.to_string());
    format!("{header}.{payload}.")
}
