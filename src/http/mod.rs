//! HTTP: routes, request logs and metrics, and serving with graceful shutdown.

mod cors;
mod format;
mod graphiql;
mod graphql;
mod probes;
mod websocket;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{get, post, Endpoint, EndpointExt, IntoResponse, Request, Response, Route, Server};
use tracing::Instrument;

use crate::app::App;
use crate::schema::build_schema;

pub use websocket::OpenSockets;

/// How long in-flight requests may finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How long WebSockets may take to send their close frames once the server stopped.
const SOCKET_CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Every route of a node; open WebSockets hold a clone of `sockets`.
pub fn routes(app: Arc<App>, sockets: OpenSockets) -> impl Endpoint {
    let schema = build_schema(app.clone());
    Route::new()
        .at("/graphql", get(graphql::get).post(graphql::post))
        .at("/graphiql/:file", get(graphiql::asset))
        .at("/health", get(probes::health))
        .at("/ready", get(probes::ready))
        .at("/metrics", get(probes::metrics))
        .at("/cases/import", post(crate::rest::cases::import))
        .at("/runs/:id/:file", get(crate::rest::runs::report))
        .data(schema)
        .data(sockets)
        .with(cors::CrossOrigin::new(&app.config.cors.cors_origins))
        .data(app.clone())
        .around(move |endpoint, request| observe_request(app.clone(), endpoint, request))
}

/// Logs, counts and times each request under its route pattern. The log names
/// the path without its query string, which may carry a GraphQL document.
async fn observe_request<E: Endpoint>(
    app: Arc<App>,
    endpoint: Arc<E>,
    request: Request,
) -> poem::Result<Response> {
    let started = Instant::now();
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = request.uri().path(),
        client = request
            .remote_addr()
            .as_socket_addr()
            .map(|address| address.ip().to_string())
            .unwrap_or_default(),
    );
    let response = match endpoint.call(request).instrument(span.clone()).await {
        Ok(output) => output.into_response(),
        Err(error) => error.into_response(),
    };
    let elapsed = started.elapsed();
    let route = response
        .data::<poem::PathPattern>()
        .map_or("unmatched", |pattern| &pattern.0);
    app.metrics
        .record_http(route, response.status().as_u16(), elapsed);
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            duration = ?elapsed,
            "response"
        );
    });
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
///
/// An upgraded WebSocket leaves the HTTP server's hands: the server's graceful
/// shutdown neither waits for it nor closes it. Returning as soon as the server
/// stopped would let the process exit before the sockets sent their close
/// frames (clients would see 1006), so this also waits for every open socket.
pub async fn serve_on<A: Acceptor + 'static>(
    app: Arc<App>,
    acceptor: A,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    crate::monitoring::monitor::spawn(app.clone());
    crate::runs::driver::spawn(app.clone(), Arc::new(crate::tasks::steps::TaskSteps));
    crate::tasks::scheduler::spawn(app.clone());
    let notifier = app.clone();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down");
        notifier.begin_shutdown();
    };
    let (sockets, all_closed) = OpenSockets::new();
    Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(routes(app, sockets), signal, Some(SHUTDOWN_GRACE))
        .await?;
    if tokio::time::timeout(SOCKET_CLOSE_GRACE, all_closed)
        .await
        .is_err()
    {
        tracing::warn!("some WebSockets did not close in time");
    }
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
