//! `/graphql` over HTTP: queries on GET and POST, GraphiQL for a browser,
//! subscriptions on a WebSocket upgrade.
//!
//! POST takes `application/json` (a request or a batch) or `multipart/form-data`
//! (uploads); any other body type is refused with 415 before anything runs.
//! GET takes `query`, `variables`, `operationName` and `extensions` from the
//! URL and runs queries only: a mutation sent by GET gets 405.

use std::sync::Arc;

use async_graphql::http::MultipartOptions;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{BatchRequest, Variables};
use poem::http::{header, StatusCode};
use poem::web::websocket::WebSocket;
use poem::web::Data;
use poem::{handler, Body, Request, Response};
use serde::Deserialize;

use crate::app::App;
use crate::auth::session::{parse_bearer, Session};
use crate::config::LimitsConfig;
use crate::graphql::document::nests_deeper_than;
use crate::graphql::limits::BatchBudget;
use crate::graphql::{ClientAddr, ExecutionStarted};
use crate::schema::TidewatchSchema;

use super::format::{accepts_html, outcomes, ResponseFormat};
use super::graphiql;
use super::websocket::{self, OpenSockets};

/// GET: a WebSocket upgrade, the GraphiQL page for a browser, else a query from the URL.
#[handler]
pub async fn get(
    request: &Request,
    upgrade: Option<WebSocket>,
    Data(schema): Data<&TidewatchSchema>,
    Data(app): Data<&Arc<App>>,
    Data(sockets): Data<&OpenSockets>,
) -> Response {
    if let Some(socket) = upgrade {
        return websocket::upgrade(
            request,
            socket,
            schema.clone(),
            app.clone(),
            sockets.clone(),
        );
    }
    if accepts_html(request) {
        return graphiql::page();
    }
    let format = ResponseFormat::of(request);
    let mut operation = match query_from_url(request) {
        Ok(operation) => operation,
        Err(message) => return format.refusal(StatusCode::BAD_REQUEST, "query", &message),
    };
    if selects_mutation(&mut operation, &app.config.limits) {
        let mut refused = format.refusal(
            StatusCode::METHOD_NOT_ALLOWED,
            "query",
            "mutations are accepted over POST only",
        );
        refused
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
        return refused;
    }
    run(request, BatchRequest::Single(operation), format, schema).await
}

/// POST: a request or a batch as JSON, or a multipart upload.
#[handler]
pub async fn post(
    request: &Request,
    body: Body,
    Data(schema): Data<&TidewatchSchema>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let format = ResponseFormat::of(request);
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let essence = content_type
        .as_deref()
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase());
    let is_upload =
        match essence.as_deref() {
            Some("application/json") => false,
            Some("multipart/form-data") => true,
            _ => return format.refusal(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "content-type",
                "send GraphQL requests as application/json (or multipart/form-data for uploads)",
            ),
        };
    let limits = &app.config.limits;
    let limit = if is_upload {
        limits.max_upload_bytes
    } else {
        limits.max_body_bytes
    };
    let bytes = match body.into_bytes_limit(limit).await {
        Ok(bytes) => bytes,
        Err(poem::error::ReadBodyError::PayloadTooLarge) => {
            return format.refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body",
                &format!("request body exceeds the limit of {limit} bytes"),
            )
        }
        Err(error) => return format.refusal(StatusCode::BAD_REQUEST, "body", &error.to_string()),
    };
    let options = MultipartOptions::default().max_file_size(limit);
    let batch = match async_graphql::http::receive_batch_body(content_type, bytes.as_ref(), options)
        .await
    {
        Ok(batch) => batch,
        Err(error) => {
            return format.refusal(
                StatusCode::BAD_REQUEST,
                "body",
                &format!("malformed GraphQL request: {error}"),
            )
        }
    };
    if let Err(message) = check_batch(&batch, limits) {
        return format.refusal(StatusCode::BAD_REQUEST, "body", &message);
    }
    run(request, batch, format, schema).await
}

/// Executes a checked request or batch as the caller and writes the result.
async fn run(
    request: &Request,
    batch: BatchRequest,
    format: ResponseFormat,
    schema: &TidewatchSchema,
) -> Response {
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
    let mut batch = batch.data(Session::for_request(bearer)).data(client);
    if let BatchRequest::Batch(_) = batch {
        batch = batch.data(BatchBudget::default());
    }
    let flags: Vec<ExecutionStarted> = batch
        .iter_mut()
        .map(|operation| {
            let flag = ExecutionStarted::default();
            operation.data.insert(flag.clone());
            flag
        })
        .collect();
    let response = schema.execute_batch(batch).await;
    let executed: Vec<bool> = flags.iter().map(ExecutionStarted::started).collect();
    let (outcomes, is_batch) = outcomes(response, &executed);
    format.render(outcomes, is_batch)
}

/// The parameters of a GraphQL GET request.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UrlParameters {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

/// The operation in the URL's query string; the message says what is wrong with it.
fn query_from_url(request: &Request) -> Result<async_graphql::Request, String> {
    let parameters: UrlParameters = request
        .params()
        .map_err(|error| format!("malformed query string: {error}"))?;
    let query = parameters
        .query
        .filter(|query| !query.trim().is_empty())
        .ok_or("the query parameter is missing")?;
    let mut operation = async_graphql::Request::new(query);
    if let Some(name) = parameters.operation_name.filter(|name| !name.is_empty()) {
        operation = operation.operation_name(name);
    }
    if let Some(variables) = parameters.variables.filter(|text| !text.is_empty()) {
        let value: serde_json::Value = serde_json::from_str(&variables)
            .map_err(|error| format!("variables are not valid JSON: {error}"))?;
        if !value.is_object() && !value.is_null() {
            return Err("variables must be a JSON object".into());
        }
        operation = operation.variables(Variables::from_json(value));
    }
    if let Some(extensions) = parameters.extensions.filter(|text| !text.is_empty()) {
        operation.extensions = serde_json::from_str(&extensions)
            .map_err(|error| format!("extensions are not a valid JSON object: {error}"))?;
    }
    Ok(operation)
}

/// Whether the operation the request selects is a mutation. A document that
/// does not parse (or nests too deep to try) is left for execution to refuse.
fn selects_mutation(operation: &mut async_graphql::Request, limits: &LimitsConfig) -> bool {
    if nests_deeper_than(&operation.query, limits.max_query_nesting) {
        return false;
    }
    let name = operation.operation_name.clone();
    let Ok(document) = operation.parsed_query() else {
        return false;
    };
    let selected = match (&document.operations, name) {
        (DocumentOperations::Single(single), _) => Some(single),
        (DocumentOperations::Multiple(named), Some(name)) => named.get(name.as_str()),
        (DocumentOperations::Multiple(named), None) if named.len() == 1 => named.values().next(),
        (DocumentOperations::Multiple(_), None) => None,
    };
    selected.is_some_and(|operation| operation.node.ty == OperationType::Mutation)
}

/// Refuses requests without a query, and batches that are empty or over the
/// operation cap, before anything runs.
fn check_batch(batch: &BatchRequest, limits: &LimitsConfig) -> Result<(), String> {
    if batch
        .iter()
        .any(|operation| operation.query.trim().is_empty())
    {
        return Err("the query parameter is missing".into());
    }
    match batch {
        BatchRequest::Single(_) => Ok(()),
        BatchRequest::Batch(operations) if operations.is_empty() => {
            Err("the batch holds no operation".into())
        }
        BatchRequest::Batch(operations) if operations.len() > limits.max_batch_operations => {
            Err(format!(
                "the batch holds {} operations; at most {} are accepted",
                operations.len(),
                limits.max_batch_operations
            ))
        }
        BatchRequest::Batch(_) => Ok(()),
    }
}
