//! A short-lived cache of checked sessions, so an authenticated request does
//! not read its token family and its user from the database every time.
//!
//! An entry is the [`Viewer`] a full check produced for one token family
//! (live family, active user), kept for `TIDEWATCH_SESSION_CACHE_SECONDS`.
//! Every write that could change the answer (logout, a revoked family, a
//! password change, any change to the account) calls
//! [`forget_user`](super::session::forget_user) after it commits: the entries
//! of that user go on this node at once and on every other node when the
//! [`SESSIONS_TOPIC`] message arrives. A node that may have missed such a
//! message (its Redis subscription was re-established) empties its cache.
//! A check that started before a forget never stores its (perhaps stale)
//! answer: entries are stored only if no forget happened while they were read.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::events::{EventBus, Live};

use super::viewer::Viewer;

/// Where nodes tell each other to forget a user's sessions.
pub const SESSIONS_TOPIC: &str = "auth.sessions";
/// Most sessions kept at once; past it, expired entries go, then all.
const CAPACITY: usize = 50_000;

/// What travels on [`SESSIONS_TOPIC`].
#[derive(Debug, Serialize, Deserialize)]
struct Forget {
    user_id: String,
}

struct Entry {
    viewer: Viewer,
    stored_at: Instant,
}

/// Checked sessions by token family id.
pub struct SessionCache {
    /// How long a checked session is trusted without reading the database again.
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry>>,
    /// Counts forgets, so a check that overlapped one does not store its answer.
    generation: AtomicU64,
}

/// A ticket taken before a check reads the database; see [`SessionCache::store`].
pub struct Ticket(u64);

impl SessionCache {
    /// An empty cache whose entries last `ttl` (zero: nothing is kept).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::default(),
            generation: AtomicU64::new(0),
        }
    }

    /// The viewer checked for `family_id`, unless it expired.
    pub fn get(&self, family_id: &str) -> Option<Viewer> {
        let entries = self.entries.lock().expect("session cache lock");
        entries
            .get(family_id)
            .filter(|entry| entry.stored_at.elapsed() < self.ttl)
            .map(|entry| entry.viewer.clone())
    }

    /// Taken before reading what [`SessionCache::store`] will keep.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.generation.load(Ordering::Acquire))
    }

    /// Keeps `viewer` unless a forget happened since `ticket` was taken.
    pub fn store(&self, ticket: Ticket, viewer: &Viewer) {
        let mut entries = self.entries.lock().expect("session cache lock");
        // Checked under the lock: a forget bumps the generation before it takes it.
        if self.ttl.is_zero() || self.generation.load(Ordering::Acquire) != ticket.0 {
            return;
        }
        if entries.len() >= CAPACITY {
            let ttl = self.ttl;
            entries.retain(|_, entry| entry.stored_at.elapsed() < ttl);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(
            viewer.family_id.clone(),
            Entry {
                viewer: viewer.clone(),
                stored_at: Instant::now(),
            },
        );
    }

    /// Drops every entry of `user_id` on this node.
    pub fn forget_locally(&self, user_id: &str) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let mut entries = self.entries.lock().expect("session cache lock");
        entries.retain(|_, entry| entry.viewer.user.id != user_id);
    }

    /// Drops every entry on this node.
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.lock().expect("session cache lock").clear();
    }

    /// How many entries are kept (expired ones included).
    pub fn len(&self) -> usize {
        self.entries.lock().expect("session cache lock").len()
    }

    /// True when nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every entry of `user_id` on this node, and tells the other nodes
    /// on `bus` to do the same.
    pub async fn forget_everywhere(&self, bus: &Arc<dyn EventBus>, user_id: &str) {
        self.forget_locally(user_id);
        let message = Forget {
            user_id: user_id.to_owned(),
        };
        if let Err(error) = bus.publish_json(SESSIONS_TOPIC, &message).await {
            // Other nodes trust what they checked until their entries expire.
            tracing::warn!(%error, "could not tell other nodes to forget a user's sessions");
        }
    }

    /// Applies other nodes' forgets until the bus closes or the node stops.
    pub fn listen(
        self: &Arc<Self>,
        bus: &Arc<dyn EventBus>,
        stop: impl Future<Output = ()> + Send + 'static,
    ) {
        let cache = Arc::downgrade(self);
        let mut feed =
            Box::pin(bus.subscribe_json_marking_gaps::<serde_json::Value>(SESSIONS_TOPIC));
        tokio::spawn(async move {
            tokio::pin!(stop);
            loop {
                let received = tokio::select! {
                    received = feed.next() => received,
                    () = &mut stop => return,
                };
                let (Some(received), Some(cache)) = (received, cache.upgrade()) else {
                    return;
                };
                match received {
                    Live::Event(message) => match serde_json::from_value::<Forget>(message) {
                        Ok(forget) => cache.forget_locally(&forget.user_id),
                        Err(_) => cache.clear(),
                    },
                    Live::Missed => cache.clear(),
                }
            }
        });
    }
}
