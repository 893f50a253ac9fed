//! Notifications: stored, listed, marked read, and streamed over both WebSocket protocols.

use serde_json::json;
use tidewatch::notifications::service::topic;

use crate::backend_test;
use crate::support::websocket::Protocol;
use crate::support::{Backend, TestApp};

const SUBSCRIBE: &str = "subscription { notifications { id kind message read createdAt } }";
const LIST: &str = "query($unreadOnly: Boolean) { notifications(unreadOnly: $unreadOnly) {
    totalCount nodes { id kind message read } } }";
const MARK_READ: &str = "mutation($input: MarkNotificationsReadInput!) {
    markNotificationsRead(input: $input) { markedCount unreadCount } }";

async fn live_notification_over(protocol: Protocol, backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.register("root").await;
    let ada = app.register("ada").await;
    let mut socket = app
        .subscribed_socket(
            protocol,
            json!({ "Authorization": format!("Bearer {}", ada.access_token) }),
        )
        .await;
    socket.subscribe("1", SUBSCRIBE).await;
    app.subscribed_to(&topic(&ada.id), 1).await;

    app.update_user(&admin.access_token, &ada.id, json!({ "role": "ADMIN" }))
        .await
        .ok();
    let payload = socket.next_payload().await;
    let live = &payload["data"]["notifications"];
    assert_eq!(live["kind"], "ROLE_CHANGED", "{payload}");
    assert_eq!(live["read"], false);
    assert!(live["message"].as_str().unwrap().contains("ADMIN"));

    // The same notification is stored and listed.
    let listed = app
        .graphql(Some(&ada.access_token), LIST, json!({}))
        .await
        .ok();
    assert_eq!(listed.data("notifications.totalCount"), 1);
    assert_eq!(listed.data("notifications.nodes.0.id"), &live["id"]);
}

backend_test! {
    async fn notification_arrives_over_graphql_transport_ws(backend: Backend) {
        live_notification_over(Protocol::TransportWs, backend).await;
    }
}

backend_test! {
    async fn notification_arrives_over_legacy_graphql_ws(backend: Backend) {
        live_notification_over(Protocol::LegacyWs, backend).await;
    }
}

backend_test! {
    async fn token_in_plain_payload_is_accepted(backend: Backend) {
        let app = TestApp::start(backend).await;
        let admin = app.register("root").await;
        let ada = app.register("ada").await;
        let mut socket = app
            .subscribed_socket(Protocol::TransportWs, json!({ "token": ada.access_token }))
            .await;
        socket.subscribe("n", SUBSCRIBE).await;
        app.subscribed_to(&topic(&ada.id), 1).await;
        app.update_user(&admin.access_token, &ada.id, json!({ "active": false })).await.ok();
        let payload = socket.next_payload().await;
        assert_eq!(payload["data"]["notifications"]["kind"], "ACCOUNT_DEACTIVATED");
    }
}

backend_test! {
    async fn users_see_only_their_own_notifications(backend: Backend) {
        let app = TestApp::start(backend).await;
        let admin = app.register("root").await;
        let ada = app.register("ada").await;
        let bob = app.register("bob").await;
        let mut bob_socket = app
            .subscribed_socket(Protocol::TransportWs, json!({ "token": bob.access_token }))
            .await;
        bob_socket.subscribe("1", SUBSCRIBE).await;
        app.subscribed_to(&topic(&bob.id), 1).await;

        app.update_user(&admin.access_token, &ada.id, json!({ "role": "ADMIN" })).await.ok();
        app.update_user(&admin.access_token, &bob.id, json!({ "active": false })).await.ok();
        // Bob's first event is his own, not Ada's.
        let payload = bob_socket.next_payload().await;
        assert_eq!(payload["data"]["notifications"]["kind"], "ACCOUNT_DEACTIVATED");
        app.update_user(&admin.access_token, &bob.id, json!({ "active": true })).await.ok();

        let ada_list = app.graphql(Some(&ada.access_token), LIST, json!({})).await.ok();
        let ada_id = ada_list.data("notifications.nodes.0.id").clone();
        let bob_list = app.graphql(Some(&bob.access_token), LIST, json!({})).await.ok();
        assert_eq!(bob_list.data("notifications.totalCount"), 2);

        // Bob cannot mark Ada's notification; nothing of his is marked either.
        let bob_first = bob_list.data("notifications.nodes.0.id").clone();
        let foreign = app
            .graphql(Some(&bob.access_token), MARK_READ, json!({ "input": { "ids": [bob_first, ada_id] } }))
            .await;
        assert_eq!(foreign.code(), "NOT_FOUND");
        let unread = app
            .graphql(Some(&bob.access_token), LIST, json!({ "unreadOnly": true }))
            .await
            .ok();
        assert_eq!(unread.data("notifications.totalCount"), 2);
    }
}

backend_test! {
    async fn marking_read_clears_the_unread_list(backend: Backend) {
        let app = TestApp::start(backend).await;
        let admin = app.register("root").await;
        let ada = app.register("ada").await;
        app.update_user(&admin.access_token, &ada.id, json!({ "role": "ADMIN" })).await.ok();
        app.update_user(&admin.access_token, &ada.id, json!({ "role": "USER" })).await.ok();
        let token = Some(ada.access_token.as_str());
        let listed = app.graphql(token, LIST, json!({})).await.ok();
        let newest = listed.data("notifications.nodes.0");
        assert!(newest["message"].as_str().unwrap().contains("USER"), "newest first");
        let id = newest["id"].clone();

        let marked = app
            .graphql(token, MARK_READ, json!({ "input": { "ids": [id, id] } }))
            .await
            .ok();
        assert_eq!(marked.data("markNotificationsRead.markedCount"), 1);
        assert_eq!(marked.data("markNotificationsRead.unreadCount"), 1);
        let unread = app.graphql(token, LIST, json!({ "unreadOnly": true })).await.ok();
        assert_eq!(unread.data("notifications.totalCount"), 1);
        let all = app.graphql(token, LIST, json!({})).await.ok();
        assert_eq!(all.data("notifications.nodes.0.read"), true);
    }
}

backend_test! {
    async fn sockets_without_a_valid_token_are_closed(backend: Backend) {
        let app = TestApp::start(backend).await;
        let admin = app.register("root").await;
        for payload in [json!({}), json!({ "token": "forged" })] {
            let mut socket = app.websocket(Protocol::TransportWs).await;
            socket.init(payload.clone()).await;
            let closed = socket.closed().await;
            assert_eq!(closed.code, Some(1002), "{payload}");
            assert!(closed.reason.contains("UNAUTHENTICATED"), "{}", closed.reason);
        }
        let mut legacy = app.websocket(Protocol::LegacyWs).await;
        legacy.init(json!({})).await;
        let closed = legacy.closed().await;
        let error = closed.error_payload.expect("connection_error before close");
        assert!(error["message"].as_str().unwrap().contains("UNAUTHENTICATED"));

        // A token revoked after connecting stops working at the next subscribe.
        let mut socket = app
            .subscribed_socket(Protocol::TransportWs, json!({ "token": admin.access_token }))
            .await;
        app.graphql(Some(&admin.access_token), "mutation { logout { success } }", json!({}))
            .await
            .ok();
        socket.subscribe("1", SUBSCRIBE).await;
        let payload = socket.next_payload().await;
        assert!(payload["data"].is_null(), "{payload}");
        assert_eq!(payload["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    }
}
