//! Events: publish on a topic, subscribe to a topic.
//!
//! Two buses implement [`EventBus`]: [`LocalBus`] (tokio broadcast, one
//! process) and [`RedisBus`] (Redis pub/sub, shared by every node). Both hand
//! subscribers a local [`Subscription`]; the Redis bus feeds its local fan-out
//! from one pattern subscription per node. Payloads are JSON text, so each
//! domain owns its topic names and payload types.

mod local;
mod redis_bus;

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use futures_util::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_stream::wrappers::BroadcastStream;

pub use local::LocalBus;
pub use redis_bus::RedisBus;

/// A way to deliver events to subscribers, on this node or on all nodes.
pub trait EventBus: Send + Sync {
    /// Sends `payload` to every subscriber of `topic`.
    fn publish<'a>(&'a self, topic: &'a str, payload: String) -> BoxFuture<'a, anyhow::Result<()>>;
    /// Starts receiving what is published on `topic` from now on.
    fn subscribe(&self, topic: &str) -> Subscription;
    /// How many subscriptions to `topic` are open on this node (so a caller can
    /// tell when a subscription made elsewhere, such as over a WebSocket, is live).
    fn subscribers(&self, topic: &str) -> usize;
    /// Answers whether the bus can deliver now (for `/ready`).
    fn ping(&self) -> BoxFuture<'_, anyhow::Result<()>>;
}

impl dyn EventBus {
    /// Publishes `event` as JSON.
    pub async fn publish_json<T: Serialize>(&self, topic: &str, event: &T) -> anyhow::Result<()> {
        self.publish(topic, serde_json::to_string(event)?).await
    }

    /// Subscribes to `topic`, decoding each payload as `T` (undecodable ones are dropped).
    pub fn subscribe_json<T: DeserializeOwned>(&self, topic: &str) -> impl Stream<Item = T> {
        self.subscribe(topic).filter_map(|payload| async move {
            serde_json::from_str(&payload)
                .inspect_err(|error| tracing::warn!(%error, "dropping undecodable event"))
                .ok()
        })
    }
}

/// A live stream of one topic's payloads. Dropping it unsubscribes.
pub struct Subscription {
    stream: BroadcastStream<std::sync::Arc<str>>,
    _guard: local::TopicGuard,
}

impl Stream for Subscription {
    type Item = String;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<String>> {
        loop {
            match Pin::new(&mut self.stream).poll_next(cx) {
                Poll::Ready(Some(Ok(payload))) => return Poll::Ready(Some(payload.to_string())),
                Poll::Ready(Some(Err(lagged))) => {
                    tracing::warn!(%lagged, "slow subscriber skipped events");
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
