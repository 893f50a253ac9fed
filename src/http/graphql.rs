//! `/graphql`: GraphiQL on GET, queries on POST, subscriptions on a WebSocket upgrade.

use std::sync::Arc;

use async_graphql::http::{GraphiQLSource, MultipartOptions};
use poem::http::{header, StatusCode};
use poem::web::websocket::WebSocket;
use poem::web::{Data, Html};
use poem::{handler, Body, IntoResponse, Request, Response};
use serde_json::json;

use crate::app::App;
use crate::auth::{parse_bearer, Session};
use crate::graphql::{ClientAddr, TidewatchSchema};

use super::websocket;

/// GraphiQL for a browser; the subscription socket for a WebSocket upgrade.
#[handler]
pub async fn graphiql_or_websocket(
    request: &Request,
    upgrade: Option<WebSocket>,
    Data(schema): Data<&TidewatchSchema>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    match upgrade {
        Some(socket) => websocket::upgrade(request, socket, schema.clone(), app.clone()),
        None => Html(
            GraphiQLSource::build()
                .endpoint("/graphql")
                .subscription_endpoint("/graphql")
                .title("Tidewatch GraphiQL")
                .finish(),
        )
        .into_response(),
    }
}

/// Runs a query, mutation or batch sent as JSON (or multipart, for uploads).
#[handler]
pub async fn execute(
    request: &Request,
    body: Body,
    Data(schema): Data<&TidewatchSchema>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let is_upload = content_type
        .as_deref()
        .is_some_and(|value| value.starts_with("multipart/"));
    let limits = &app.config.limits;
    let limit = if is_upload {
        limits.max_upload_bytes
    } else {
        limits.max_body_bytes
    };
    let bytes = match body.into_bytes_limit(limit).await {
        Ok(bytes) => bytes,
        Err(poem::error::ReadBodyError::PayloadTooLarge) => {
            return error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("request body exceeds the limit of {limit} bytes"),
            )
        }
        Err(error) => return error_response(StatusCode::BAD_REQUEST, &error.to_string()),
    };
    let options = MultipartOptions::default().max_file_size(limit);
    let batch = match async_graphql::http::receive_batch_body(content_type, bytes.as_ref(), options)
        .await
    {
        Ok(batch) => batch,
        Err(error) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                &format!("malformed GraphQL request: {error}"),
            )
        }
    };
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(parse_bearer);
    let client = ClientAddr(
        request
            .remote_addr()
            .as_socket_addr()
            .map(|address| address.ip()),
    );
    let batch = batch.data(Session::for_request(bearer)).data(client);
    let response = schema.execute_batch(batch).await;
    let mut http = poem::web::Json(&response).into_response();
    if response.is_ok() {
        return http;
    }
    http.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    http
}

/// A GraphQL-shaped error for requests refused before execution.
fn error_response(status: StatusCode, message: &str) -> Response {
    let body = json!({
        "data": null,
        "errors": [{ "message": message, "extensions": { "code": "BAD_USER_INPUT" } }],
    });
    poem::web::Json(body).with_status(status).into_response()
}
