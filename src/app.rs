//! The node's state, built once in `main` (or a test) and passed down.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::watch;

use crate::auth::cache::SessionCache;
use crate::auth::password::{default_concurrency, Passwords};
use crate::auth::rate_limit::RateLimiter;
use crate::auth::tokens::TokenIssuer;
use crate::config::Config;
use crate::db::Database;
use crate::egress::EgressPolicy;
use crate::events::{BoundedBus, EventBus, LocalBus, RedisBus, PUBLISH_TIMEOUT};
use crate::observability::Metrics;
use crate::secrets::SecretBox;
use crate::servers::probe::ProbeNetwork;

/// Everything a request handler, resolver or background job needs.
pub struct App {
    /// The configuration the node started with.
    pub config: Config,
    /// The storage pool.
    pub db: Database,
    /// Where events are published and subscribed.
    pub bus: Arc<dyn EventBus>,
    /// Signs and checks access tokens.
    pub tokens: TokenIssuer,
    /// Seals and opens secrets stored in the database.
    pub secrets: SecretBox,
    /// Sessions and users checked in the last few seconds.
    pub sessions: Arc<SessionCache>,
    /// Counts login and registration attempts.
    pub rate_limiter: RateLimiter,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Hashes and checks passwords, a bounded number at once.
    pub passwords: Passwords,
    /// When the node started.
    pub started_at: Instant,
    /// Runs cases; holds this node's id, worker slots and HTTP connection pool.
    pub executor: crate::runs::executor::Executor,
    /// The shared bus subscriptions of runs with `runEvents` subscribers here.
    pub run_hub: crate::runs::hub::RunHub,
    /// Which addresses outbound connections made for users may reach.
    pub egress: Arc<EgressPolicy>,
    /// What probes and connection tests connect through (under `egress`).
    pub probe_network: ProbeNetwork,
    shutdown: watch::Sender<bool>,
}

impl App {
    /// Connects storage (migrating it) and events as configured.
    pub async fn build(config: Config) -> anyhow::Result<Arc<Self>> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
        let tokens = TokenIssuer::load(&config.auth, &config.data_dir)?;
        let secrets = load_secrets(&config)?;
        let db = Database::connect(
            &config.effective_database_url(),
            config.database.db_pool_size,
        )
        .await?;
        let metrics = Arc::new(Metrics::new());
        let (bus, rate_limiter): (Arc<dyn EventBus>, RateLimiter) = match &config.redis_url {
            Some(url) => {
                let client = redis::Client::open(url.as_str()).context("parsing REDIS_URL")?;
                let limiter = RateLimiter::Redis(
                    client
                        .get_connection_manager()
                        .await
                        .context("connecting to Redis")?,
                );
                (Arc::new(RedisBus::connect(client).await?), limiter)
            }
            None => (Arc::new(LocalBus::new()), RateLimiter::in_memory()),
        };
        let bus = Arc::new(BoundedBus::new(
            bus,
            PUBLISH_TIMEOUT,
            metrics.events_unpublished.clone(),
        ));
        let egress = Arc::new(EgressPolicy::new(
            config.egress.egress_deny.clone(),
            config.egress.egress_allow.clone(),
        ));
        let hash_concurrency = config
            .auth
            .password_hash_concurrency
            .unwrap_or_else(default_concurrency);
        let passwords = Passwords::new(hash_concurrency)
            .await
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        let sessions = Arc::new(SessionCache::new(Duration::from_secs(
            config.auth.session_cache_seconds,
        )));
        let app = Arc::new(Self {
            config,
            db,
            bus,
            tokens,
            secrets,
            sessions,
            rate_limiter,
            metrics,
            passwords,
            started_at: Instant::now(),
            executor: crate::runs::executor::Executor::new(egress.clone()),
            run_hub: crate::runs::hub::RunHub::default(),
            probe_network: ProbeNetwork::new(egress.clone()),
            egress,
            shutdown: watch::channel(false).0,
        });
        app.sessions.listen(&app.bus, app.shutdown_requested());
        Ok(app)
    }

    /// Tells long-lived work (WebSockets, background jobs) to stop.
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Completes once [`App::begin_shutdown`] has been called.
    pub fn shutdown_requested(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut receiver = self.shutdown.subscribe();
        async move {
            while !*receiver.borrow_and_update() {
                if receiver.changed().await.is_err() {
                    // The app is gone without a shutdown call; nothing left to wait for.
                    return;
                }
            }
        }
    }
}

/// The current sealing key, and the previous one during a rotation.
fn load_secrets(config: &Config) -> anyhow::Result<SecretBox> {
    let current =
        SecretBox::load_or_generate(&config.data_dir, config.secrets.credential_key.as_deref())?;
    let previous = config
        .secrets
        .previous_credential_key
        .as_deref()
        .map(SecretBox::from_base64_key)
        .transpose()
        .context("TIDEWATCH_PREVIOUS_CREDENTIAL_KEY")?;
    Ok(SecretBox::with_previous(current, previous))
}
