//! HTTP: routes, request metrics, and serving with graceful shutdown.

mod graphql;
mod probes;
mod websocket;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use poem::listener::{Acceptor, Listener, TcpListener};
use poem::middleware::Tracing;
use poem::{get, post, Endpoint, EndpointExt, IntoResponse, Request, Response, Route, Server};

use crate::app::App;
use crate::graphql::build_schema;

/// How long in-flight requests may finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Every route of a node.
pub fn routes(app: Arc<App>) -> impl Endpoint {
    let schema = build_schema(app.clone());
    Route::new()
        .at(
            "/graphql",
            get(graphql::graphiql_or_websocket).post(graphql::execute),
        )
        .at("/health", get(probes::health))
        .at("/ready", get(probes::ready))
        .at("/metrics", get(probes::metrics))
        .at("/cases/import", post(crate::rest::cases::import))
        .at("/runs/:id/:file", get(crate::rest::runs::report))
        .data(schema)
        .data(app.clone())
        .around(move |endpoint, request| record_request(app.clone(), endpoint, request))
        .with(Tracing)
}

/// Counts and times each request under its route pattern.
async fn record_request<E: Endpoint>(
    app: Arc<App>,
    endpoint: Arc<E>,
    request: Request,
) -> poem::Result<Response> {
    let started = Instant::now();
    let response = match endpoint.call(request).await {
        Ok(output) => output.into_response(),
        Err(error) => error.into_response(),
    };
    let route = response
        .data::<poem::PathPattern>()
        .map_or("unmatched", |pattern| &pattern.0);
    app.metrics
        .record_http(route, response.status().as_u16(), started.elapsed());
    Ok(response)
}

/// Serves on `config.bind` until SIGINT or SIGTERM.
pub async fn serve(app: Arc<App>) -> anyhow::Result<()> {
    let acceptor = TcpListener::bind(app.config.bind).into_acceptor().await?;
    tracing::info!(address = %app.config.bind, "listening");
    serve_on(app, acceptor, shutdown_signal()).await
}

/// Serves on an open acceptor until `shutdown` completes, then closes WebSockets
/// with a going-away frame and lets in-flight requests finish.
pub async fn serve_on<A: Acceptor + 'static>(
    app: Arc<App>,
    acceptor: A,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    crate::monitoring::monitor::spawn(app.clone());
    crate::runs::executor::spawn_takeover(app.clone());
    crate::tasks::scheduler::spawn(app.clone());
    let notifier = app.clone();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down");
        notifier.begin_shutdown();
    };
    Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(routes(app), signal, Some(SHUTDOWN_GRACE))
        .await?;
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
