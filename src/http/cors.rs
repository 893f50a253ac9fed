//! Cross-origin access (`TIDEWATCH_CORS_ORIGINS`) for `/graphql` and the REST paths.
//!
//! Only requests from another origin go through the CORS check: a browser
//! sends `Origin` on same-origin POSTs and WebSocket upgrades too, and the
//! node's own GraphiQL page must keep working whatever the list says. With no
//! origins configured, no CORS headers are sent and browsers keep other
//! origins out. Tokens travel in `Authorization`, not cookies, so credentials
//! are never allowed.

use std::sync::Arc;

use poem::http::{header, Method};
use poem::middleware::{Cors, CorsEndpoint};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};

/// How long a browser may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: i32 = 600;

/// The CORS middleware for the configured origins (`*` allows any).
pub struct CrossOrigin {
    cors: Option<Cors>,
}

impl CrossOrigin {
    /// Allows the given origins; an empty list allows none.
    pub fn new(origins: &[String]) -> Self {
        let origins: Vec<&str> = origins
            .iter()
            .map(|origin| origin.trim().trim_end_matches('/'))
            .filter(|origin| !origin.is_empty())
            .collect();
        if origins.is_empty() {
            return Self { cors: None };
        }
        let cors = Cors::new()
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .max_age(PREFLIGHT_MAX_AGE);
        let cors = if origins.contains(&"*") {
            cors.allow_origins_fn(|_| true)
        } else {
            cors.allow_origins(origins)
        };
        Self { cors: Some(cors) }
    }
}

impl<E: Endpoint> Middleware<E> for CrossOrigin {
    type Output = CrossOriginEndpoint<E>;

    fn transform(&self, endpoint: E) -> Self::Output {
        let inner = Arc::new(endpoint);
        CrossOriginEndpoint {
            cors: self.cors.as_ref().map(|cors| cors.transform(inner.clone())),
            inner,
        }
    }
}

/// The endpoint behind [`CrossOrigin`].
pub struct CrossOriginEndpoint<E> {
    inner: Arc<E>,
    cors: Option<CorsEndpoint<Arc<E>>>,
}

impl<E: Endpoint> Endpoint for CrossOriginEndpoint<E> {
    type Output = Response;

    async fn call(&self, request: Request) -> poem::Result<Response> {
        match &self.cors {
            Some(cors) if is_cross_origin(&request) => cors.call(request).await,
            _ => self
                .inner
                .call(request)
                .await
                .map(IntoResponse::into_response),
        }
    }
}

/// Whether the request carries an `Origin` other than the node's own address.
fn is_cross_origin(request: &Request) -> bool {
    let Some(origin) = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let own = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|rest| rest.eq_ignore_ascii_case(host));
    !own
}

#[cfg(test)]
mod tests {
    use super::is_cross_origin;
    use poem::http::header;
    use poem::Request;

    fn request(origin: Option<&str>) -> Request {
        let mut builder = Request::builder().header(header::HOST, "127.0.0.1:8000");
        if let Some(origin) = origin {
            builder = builder.header(header::ORIGIN, origin);
        }
        builder.finish()
    }

    #[test]
    fn only_other_origins_are_cross_origin() {
        assert!(!is_cross_origin(&request(None)));
        assert!(!is_cross_origin(&request(Some("http://127.0.0.1:8000"))));
        assert!(is_cross_origin(&request(Some("http://127.0.0.1:3000"))));
        assert!(is_cross_origin(&request(Some("https://app.example.com"))));
        assert!(is_cross_origin(&request(Some("null"))));
    }
}
