//! Events across nodes, and sockets on shutdown.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;

use crate::backend_test;
use crate::support::websocket::{going_away, Protocol};
use crate::support::{redis_url, Backend, TestApp};

backend_test! {
    async fn an_event_published_on_one_node_reaches_a_subscriber_on_another(backend: Backend) {
        if redis_url().is_none() {
            eprintln!("TEST_REDIS_URL is not set; cross-node test not run");
            return;
        }
        let first = TestApp::builder(backend).with_redis().start().await;
        let second = TestApp::builder(backend)
            .database(first.database.clone())
            .with_redis()
            .start()
            .await;
        let admin = first.register("root").await;
        let ada = first.register("ada").await;

        // Ada listens on the second node; the admin acts on the first.
        let mut socket = second
            .subscribed_socket(Protocol::TransportWs, json!({ "token": ada.access_token }))
            .await;
        socket.subscribe("1", "subscription { notifications { kind message } }").await;
        second.subscribed_to(&tidewatch::notifications::service::topic(&ada.id), 1).await;
        first.update_user(&admin.access_token, &ada.id, json!({ "role": "ADMIN" })).await.ok();
        let payload = socket.next_payload().await;
        assert_eq!(payload["data"]["notifications"]["kind"], "ROLE_CHANGED");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_bus_delivers_between_two_apps_exactly_once() {
    let Some(url) = redis_url() else {
        eprintln!("TEST_REDIS_URL is not set; Redis bus test not run");
        return;
    };
    let first = tidewatch::events::RedisBus::connect(redis::Client::open(url.as_str()).unwrap())
        .await
        .unwrap();
    let second = tidewatch::events::RedisBus::connect(redis::Client::open(url.as_str()).unwrap())
        .await
        .unwrap();
    use tidewatch::events::EventBus;
    let topic = format!("test.{}", uuid::Uuid::new_v4());
    let mut on_first = first.subscribe(&topic);
    let mut on_second = second.subscribe(&topic);
    first.publish(&topic, "hello".into()).await.unwrap();
    first.publish(&topic, "again".into()).await.unwrap();
    for stream in [&mut on_first, &mut on_second] {
        let got: Vec<String> =
            tokio::time::timeout(Duration::from_secs(5), stream.take(2).collect())
                .await
                .expect("two events");
        assert_eq!(got, ["hello", "again"]);
    }
}

backend_test! {
    async fn shutdown_closes_sockets_with_going_away(backend: Backend) {
        let app = TestApp::start(backend).await;
        let admin = app.register("root").await;
        let mut socket = app
            .subscribed_socket(Protocol::TransportWs, json!({ "token": admin.access_token }))
            .await;
        socket.subscribe("1", "subscription { notifications { id } }").await;
        app.subscribed_to(&tidewatch::notifications::service::topic(&admin.id), 1).await;
        let stopping = tokio::spawn(app.stop());
        let closed = socket.closed().await;
        assert_eq!(closed.code, Some(going_away()));
        assert_eq!(closed.reason, "server shutting down");
        stopping.await.unwrap();
    }
}
