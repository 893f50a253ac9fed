//! The REST shim: documented paths of the older platforms, served by thin
//! handlers over the same services the GraphQL resolvers use.

pub mod cases;
pub mod runs;

use poem::web::Json;
use poem::{IntoResponse, Request, Response};
use serde_json::json;

use crate::app::App;
use crate::auth::session::{authenticate, parse_bearer};
use crate::auth::Viewer;
use crate::error::{AppError, AppResult};

/// An error as REST clients get it: the HTTP status of its code, and a JSON body.
pub fn error_response(error: AppError) -> Response {
    let status = error.status();
    if let AppError::Internal(source) = &error {
        tracing::error!(error = ?source, "internal error");
    }
    let field = match &error {
        AppError::BadInput { field, .. } => Some(field.clone()),
        _ => None,
    };
    Json(json!({
        "error": { "code": error.code(), "message": error.to_string(), "field": field },
    }))
    .with_status(status)
    .into_response()
}

/// The caller of a REST request, from its `Authorization: Bearer` header.
pub async fn viewer(app: &App, request: &Request) -> AppResult<Viewer> {
    let bearer = request
        .headers()
        .get(poem::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(parse_bearer);
    authenticate(app, bearer.as_deref()).await
}
