//! Fixed-window attempt counters, in memory or in Redis (shared by all nodes).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;

use crate::error::{AppError, AppResult};

/// Entries kept in memory before expired windows are swept.
const SWEEP_THRESHOLD: usize = 10_000;

/// Counts attempts per key and refuses those over the limit.
pub enum RateLimiter {
    /// One node's counters.
    Memory(Mutex<HashMap<String, Window>>),
    /// Counters every node shares.
    Redis(ConnectionManager),
}

/// One key's count within its window.
pub struct Window {
    count: u32,
    ends_at: Instant,
}

impl RateLimiter {
    /// Counters in this process.
    pub fn in_memory() -> Self {
        Self::Memory(Mutex::new(HashMap::new()))
    }

    /// Counts one attempt for `key`; `RATE_LIMITED` once more than `limit` fall in one window.
    pub async fn hit(&self, key: &str, limit: u32, window: Duration) -> AppResult<()> {
        match self.count(key, limit, window).await? {
            Allowance::Allowed => Ok(()),
            Allowance::Refused { retry_after_secs } => {
                Err(AppError::RateLimited { retry_after_secs })
            }
        }
    }

    /// Counts one attempt for `key` and says whether it is within `limit` for its window.
    pub async fn count(&self, key: &str, limit: u32, window: Duration) -> AppResult<Allowance> {
        let (count, retry_after) = match self {
            Self::Memory(windows) => hit_in_memory(windows, key, window),
            Self::Redis(conn) => hit_in_redis(conn.clone(), key, window).await?,
        };
        if count > limit {
            return Ok(Allowance::Refused {
                retry_after_secs: retry_after.as_secs().max(1),
            });
        }
        Ok(Allowance::Allowed)
    }
}

/// Whether one more attempt fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowance {
    /// Within the limit.
    Allowed,
    /// Over the limit until the window ends.
    Refused {
        /// Seconds until the window ends (at least 1).
        retry_after_secs: u64,
    },
}

fn hit_in_memory(
    windows: &Mutex<HashMap<String, Window>>,
    key: &str,
    window: Duration,
) -> (u32, Duration) {
    let now = Instant::now();
    let mut windows = windows.lock().expect("rate limit lock");
    if windows.len() > SWEEP_THRESHOLD {
        windows.retain(|_, entry| entry.ends_at > now);
    }
    let entry = windows.entry(key.to_owned()).or_insert(Window {
        count: 0,
        ends_at: now + window,
    });
    if entry.ends_at <= now {
        *entry = Window {
            count: 0,
            ends_at: now + window,
        };
    }
    entry.count += 1;
    (entry.count, entry.ends_at - now)
}

async fn hit_in_redis(
    mut conn: ConnectionManager,
    key: &str,
    window: Duration,
) -> AppResult<(u32, Duration)> {
    let key = format!("tidewatch:ratelimit:{key}");
    let (count, ttl): (u32, i64) = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg(&key)
        .arg(0)
        .arg("EX")
        .arg(window.as_secs().max(1))
        .arg("NX")
        .ignore()
        .cmd("INCR")
        .arg(&key)
        .cmd("TTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .map_err(AppError::internal)?;
    Ok((count, Duration::from_secs(ttl.max(1) as u64)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_limiter_refuses_over_the_limit_per_key() {
        let limiter = RateLimiter::in_memory();
        let window = Duration::from_secs(60);
        for _ in 0..3 {
            limiter.hit("a", 3, window).await.unwrap();
        }
        let refused = limiter.hit("a", 3, window).await.unwrap_err();
        assert!(
            matches!(refused, AppError::RateLimited { retry_after_secs } if retry_after_secs <= 60)
        );
        limiter.hit("b", 3, window).await.unwrap();
    }

    #[tokio::test]
    async fn a_new_window_starts_fresh() {
        let limiter = RateLimiter::in_memory();
        let window = Duration::from_millis(50);
        limiter.hit("a", 1, window).await.unwrap();
        assert!(limiter.hit("a", 1, window).await.is_err());
        tokio::time::sleep(Duration::from_millis(60)).await;
        limiter.hit("a", 1, window).await.unwrap();
    }
}
