//! The in-process bus: one broadcast channel per topic with subscribers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;

use super::{EventBus, Subscription};

/// Events a slow subscriber may fall behind before it skips some.
const TOPIC_CAPACITY: usize = 1024;

type Topics = Arc<Mutex<HashMap<String, broadcast::Sender<Arc<str>>>>>;

/// Delivers events to subscribers in this process only.
#[derive(Clone, Default)]
pub struct LocalBus {
    topics: Topics,
}

impl LocalBus {
    /// A bus with no topics yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Hands `payload` to the current subscribers of `topic`, if any.
    pub fn deliver(&self, topic: &str, payload: &str) {
        let topics = self.topics.lock().expect("event topics lock");
        if let Some(sender) = topics.get(topic) {
            // An error only means every receiver has just gone; the guard cleans up.
            let _ = sender.send(Arc::from(payload));
        }
    }
}

impl EventBus for LocalBus {
    fn publish<'a>(&'a self, topic: &'a str, payload: String) -> BoxFuture<'a, anyhow::Result<()>> {
        self.deliver(topic, &payload);
        Box::pin(async { Ok(()) })
    }

    fn subscribe(&self, topic: &str) -> Subscription {
        let receiver = {
            let mut topics = self.topics.lock().expect("event topics lock");
            topics
                .entry(topic.to_owned())
                .or_insert_with(|| broadcast::channel(TOPIC_CAPACITY).0)
                .subscribe()
        };
        Subscription {
            stream: BroadcastStream::new(receiver),
            _guard: TopicGuard {
                topics: self.topics.clone(),
                topic: topic.to_owned(),
            },
        }
    }

    fn subscribers(&self, topic: &str) -> usize {
        let topics = self.topics.lock().expect("event topics lock");
        topics
            .get(topic)
            .map_or(0, broadcast::Sender::receiver_count)
    }

    fn ping(&self) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

/// Removes a topic's channel when its last subscriber goes.
pub(super) struct TopicGuard {
    topics: Topics,
    topic: String,
}

impl Drop for TopicGuard {
    fn drop(&mut self) {
        let mut topics = self.topics.lock().expect("event topics lock");
        // `Subscription` drops its receiver before its guard, so it no longer counts here.
        if topics
            .get(&self.topic)
            .is_some_and(|sender| sender.receiver_count() == 0)
        {
            topics.remove(&self.topic);
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    #[tokio::test]
    async fn subscribers_get_their_topic_only_and_topics_are_freed() {
        let bus = LocalBus::new();
        let mut first = bus.subscribe("a");
        let mut second = bus.subscribe("a");
        let other = bus.subscribe("b");
        assert_eq!(bus.subscribers("a"), 2);
        bus.publish("a", "one".into()).await.unwrap();
        assert_eq!(first.next().await.as_deref(), Some("one"));
        assert_eq!(second.next().await.as_deref(), Some("one"));
        drop(other);
        assert!(!bus.topics.lock().unwrap().contains_key("b"));
        drop(first);
        assert!(bus.topics.lock().unwrap().contains_key("a"));
        drop(second);
        assert!(bus.topics.lock().unwrap().is_empty());
    }
}
