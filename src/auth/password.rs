//! Password hashing with argon2id, off the async threads and a few at a time.
//!
//! Each hash or check holds 19 MiB for tens of milliseconds. Without a bound,
//! a burst of registrations or logins runs them all at once and multiplies the
//! node's memory; with one, the burst waits its turn.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use tokio::sync::Semaphore;

use crate::error::{AppError, AppResult};

/// OWASP's argon2id settings: 19 MiB of memory, 2 passes, 1 lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes and checks passwords, at most `concurrency` at once.
pub struct Passwords {
    permits: Arc<Semaphore>,
    in_flight: Arc<InFlight>,
    /// Checked for unknown login names, so their timing matches known ones.
    dummy_hash: String,
}

/// How many hashes run now, and the most that ever ran at once.
#[derive(Default)]
struct InFlight {
    now: AtomicUsize,
    peak: AtomicUsize,
}

/// Counts one hash as running for as long as it lives.
struct Running(Arc<InFlight>);

impl Running {
    fn start(in_flight: Arc<InFlight>) -> Self {
        let now = in_flight.now.fetch_add(1, Ordering::SeqCst) + 1;
        in_flight.peak.fetch_max(now, Ordering::SeqCst);
        Self(in_flight)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Passwords {
    /// Allows `concurrency` hashes at once (at least one).
    pub async fn new(concurrency: usize) -> AppResult<Self> {
        let mut passwords = Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            in_flight: Arc::default(),
            dummy_hash: String::new(),
        };
        passwords.dummy_hash = passwords
            .hash("no such user, no such password".into())
            .await?;
        Ok(passwords)
    }

    /// Hashes `password` into a PHC string.
    pub async fn hash(&self, password: String) -> AppResult<String> {
        self.run(move || {
            hasher()
                .hash_password(password.as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|e| AppError::internal(anyhow::anyhow!("hashing password: {e}")))
        })
        .await?
    }

    /// Checks `password` against a stored PHC string. With no stored hash (an unknown
    /// account) it checks a dummy one, so it takes as long, and answers false.
    pub async fn verify(&self, password: String, stored_hash: Option<String>) -> AppResult<bool> {
        let known = stored_hash.is_some();
        let stored_hash = stored_hash.unwrap_or_else(|| self.dummy_hash.clone());
        let matches = self
            .run(move || {
                // A malformed stored hash is an error here too, so it never matches.
                hasher()
                    .verify_password(password.as_bytes(), stored_hash.as_str())
                    .is_ok()
            })
            .await?;
        Ok(known && matches)
    }

    /// The most hashes or checks that ever ran at once on this node.
    pub fn peak_in_flight(&self) -> usize {
        self.in_flight.peak.load(Ordering::SeqCst)
    }

    /// Runs `work` on a blocking thread once a permit is free. The permit goes with the
    /// work, so a request that gives up waiting for it does not free a slot early.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> AppResult<T> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(AppError::internal)?;
        let in_flight = self.in_flight.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let _running = Running::start(in_flight);
            work()
        })
        .await
        .map_err(AppError::internal)
    }
}

/// The default bound: one hash per core.
pub fn default_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_verify() {
        let passwords = Passwords::new(2).await.unwrap();
        let first = passwords.hash("correct horse".into()).await.unwrap();
        let second = passwords.hash("correct horse".into()).await.unwrap();
        assert!(first.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_ne!(first, second);
        let verify =
            |password: &str, hash: &str| passwords.verify(password.into(), Some(hash.into()));
        assert!(verify("correct horse", &first).await.unwrap());
        assert!(!verify("wrong horse", &first).await.unwrap());
        assert!(!verify("x", "not a hash").await.unwrap());
        // The dummy hash's own password does not open an unknown account.
        let unknown = passwords.verify("no such user, no such password".into(), None);
        assert!(!unknown.await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_than_the_bound_run_at_once() {
        let passwords = Arc::new(Passwords::new(2).await.unwrap());
        let hash = passwords.hash("correct horse".into()).await.unwrap();
        let checks = (0..12).map(|_| {
            let passwords = passwords.clone();
            let hash = hash.clone();
            tokio::spawn(async move { passwords.verify("correct horse".into(), Some(hash)).await })
        });
        for check in futures_util::future::join_all(checks).await {
            assert!(check.unwrap().unwrap());
        }
        assert!((1..=2).contains(&passwords.peak_in_flight()));
    }
}
