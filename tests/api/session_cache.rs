//! The session cache never outlives a revocation: logout, deactivation and
//! account changes reach the node that made them at once and every other
//! node through the bus, even though the cache would otherwise trust what it
//! checked for an hour.

use serde_json::json;

use crate::backend_test;
use crate::support::wait::until;
use crate::support::{Backend, TestApp};

/// A cache that, without invalidation, would outlast every test.
const AN_HOUR: u64 = 3600;

async fn two_nodes(backend: Backend) -> (TestApp, TestApp) {
    let first = TestApp::builder(backend)
        .with_redis()
        .config(|config| config.auth.session_cache_seconds = AN_HOUR)
        .start()
        .await;
    let second = TestApp::builder(backend)
        .with_redis()
        .database(first.database.clone())
        .config(|config| config.auth.session_cache_seconds = AN_HOUR)
        .start()
        .await;
    (first, second)
}

backend_test! {
    async fn revocations_and_account_changes_reach_every_nodes_cache(backend: Backend) {
        let (first, second) = two_nodes(backend).await;
        let admin = first.register("root").await;
        let ada = first.register("ada").await;
        let bob = first.register("bob").await;
        for node in [&first, &second] {
            for account in [&ada, &bob] {
                node.me(&account.access_token).await.ok();
            }
        }
        assert!(!first.app.sessions.is_empty() && !second.app.sessions.is_empty());

        // Logout on the first node: refused there at once, and on the second.
        let logout = first.graphql(Some(&ada.access_token), "mutation { logout { success } }", json!({})).await.ok();
        assert_eq!(logout.data("logout.success"), true);
        assert_eq!(first.me(&ada.access_token).await.code(), "UNAUTHENTICATED");
        until("the second node refuses a logged-out token", || async {
            let reply = second.me(&ada.access_token).await;
            if reply.extension("code") == "UNAUTHENTICATED" { Ok(()) } else { Err(reply) }
        }).await;

        // A rename on the second node shows on the first.
        second.update_user(&admin.access_token, &bob.id, json!({ "username": "robert" })).await.ok();
        assert_eq!(second.me(&bob.access_token).await.ok().data("me.username"), "robert");
        until("the first node shows the new name", || async {
            let reply = first.me(&bob.access_token).await.ok();
            if reply.data("me.username") == "robert" { Ok(()) } else { Err(reply) }
        }).await;

        // Deactivation on the first node locks the account out of the second.
        first.update_user(&admin.access_token, &bob.id, json!({ "active": false })).await.ok();
        assert_eq!(first.me(&bob.access_token).await.code(), "UNAUTHENTICATED");
        until("the second node refuses a deactivated account", || async {
            let reply = second.me(&bob.access_token).await;
            if reply.extension("code") == "UNAUTHENTICATED" { Ok(()) } else { Err(reply) }
        }).await;
    }
}

backend_test! {
    async fn a_node_without_a_cache_reads_every_time(backend: Backend) {
        let app = TestApp::builder(backend)
            .config(|config| config.auth.session_cache_seconds = 0)
            .start()
            .await;
        let ada = app.register("ada").await;
        let before = app.app.db.statements_run();
        app.me(&ada.access_token).await.ok();
        app.me(&ada.access_token).await.ok();
        assert!(app.app.sessions.is_empty());
        // The family and the user, read for each request.
        assert_eq!(app.app.db.statements_run() - before, 4);
    }
}

backend_test! {
    async fn a_cached_session_costs_no_statement(backend: Backend) {
        let app = TestApp::start(backend).await;
        let ada = app.register("ada").await;
        app.me(&ada.access_token).await.ok();
        let before = app.app.db.statements_run();
        let me = app.me(&ada.access_token).await.ok();
        assert_eq!(me.data("me.username"), "ada");
        assert_eq!(app.app.db.statements_run(), before);
    }
}
