//! Waiting for a condition under a deadline, instead of sleeping and hoping.

use std::future::Future;
use std::time::{Duration, Instant};

/// How long a test waits for a condition: generous, so a loaded machine only
/// makes a test slower, never wrong.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Pause between two checks.
const POLL: Duration = Duration::from_millis(100);

/// Runs `check` until it returns `Some`, and returns that; panics with `what`
/// and the last value seen once [`DEADLINE`] has passed.
pub async fn until<T, S, F, Fut>(what: &str, mut check: F) -> T
where
    S: std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, S>>,
{
    let deadline = Instant::now() + DEADLINE;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(seen) if Instant::now() > deadline => {
                panic!("{what}: not reached in {DEADLINE:?}; last seen: {seen:?}")
            }
            Err(_) => tokio::time::sleep(POLL).await,
        }
    }
}
