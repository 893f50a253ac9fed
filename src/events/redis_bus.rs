//! The Redis bus: events published on one node reach subscribers on all.
//!
//! Each node holds one pattern subscription (`tidewatch:*`) and hands what
//! arrives to its local fan-out; publishing goes to Redis only, so a node
//! receives its own events through Redis like everyone else's, exactly once.
//! When the pattern subscription comes back after an outage, every local
//! subscriber is told it may have missed events ([`LocalBus::resync_all`]).

use std::time::Duration;

use anyhow::Context;
use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use redis::AsyncCommands;
use tokio::sync::oneshot;

use super::{EventBus, LocalBus, Subscription};

/// Prefix of every Redis channel Tidewatch uses.
const CHANNEL_PREFIX: &str = "tidewatch:";
/// Wait between attempts to re-establish a lost pattern subscription.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// Delivers events to subscribers on every node sharing one Redis.
pub struct RedisBus {
    local: LocalBus,
    publisher: ConnectionManager,
    listener: tokio::task::JoinHandle<()>,
}

impl RedisBus {
    /// Connects, and returns once this node's pattern subscription is live.
    pub async fn connect(client: redis::Client) -> anyhow::Result<Self> {
        let publisher = client
            .get_connection_manager()
            .await
            .context("connecting to Redis")?;
        let local = LocalBus::new();
        let (ready_tx, ready_rx) = oneshot::channel();
        let listener = tokio::spawn(listen(client, local.clone(), ready_tx));
        ready_rx
            .await
            .context("Redis listener stopped")?
            .context("subscribing to Redis")?;
        Ok(Self {
            local,
            publisher,
            listener,
        })
    }
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl EventBus for RedisBus {
    fn publish<'a>(&'a self, topic: &'a str, payload: String) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let mut conn = self.publisher.clone();
            let channel = format!("{CHANNEL_PREFIX}{topic}");
            let _: i64 = conn
                .publish(channel, payload)
                .await
                .context("publishing to Redis")?;
            Ok(())
        })
    }

    fn subscribe(&self, topic: &str) -> Subscription {
        self.local.subscribe(topic)
    }

    fn subscribers(&self, topic: &str) -> usize {
        self.local.subscribers(topic)
    }

    fn ping(&self) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            let mut conn = self.publisher.clone();
            let _: String = redis::cmd("PING")
                .query_async(&mut conn)
                .await
                .context("pinging Redis")?;
            Ok(())
        })
    }
}

/// Keeps one pattern subscription alive and feeds the local fan-out.
async fn listen(
    client: redis::Client,
    local: LocalBus,
    ready: oneshot::Sender<redis::RedisResult<()>>,
) {
    let mut ready = Some(ready);
    loop {
        let subscribed = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.psubscribe(format!("{CHANNEL_PREFIX}*")).await?;
            Ok::<_, redis::RedisError>(pubsub)
        }
        .await;
        let mut pubsub = match subscribed {
            Ok(pubsub) => pubsub,
            Err(error) => {
                if let Some(ready) = ready.take() {
                    let _ = ready.send(Err(error));
                    return;
                }
                tracing::warn!(%error, "Redis subscription lost; retrying");
                tokio::time::sleep(RECONNECT_DELAY).await;
                continue;
            }
        };
        match ready.take() {
            Some(ready) => {
                let _ = ready.send(Ok(()));
            }
            None => {
                tracing::info!("Redis subscription re-established");
                local.resync_all();
            }
        }
        let mut messages = pubsub.on_message();
        while let Some(message) = messages.next().await {
            let Some(topic) = message.get_channel_name().strip_prefix(CHANNEL_PREFIX) else {
                continue;
            };
            match message.get_payload::<String>() {
                Ok(payload) => local.deliver(topic, &payload),
                Err(error) => tracing::warn!(%error, "dropping undecodable Redis message"),
            }
        }
        tracing::warn!("Redis subscription closed; reconnecting");
        tokio::time::sleep(RECONNECT_DELAY).await;
    }
}
