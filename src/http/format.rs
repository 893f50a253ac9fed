//! How GraphQL results are written over HTTP (the GraphQL-over-HTTP spec).
//!
//! A client that accepts `application/graphql-response+json` gets that media
//! type, and a request that failed before execution (parse or validation
//! errors, limits) is answered 400 with no `data` entry. Other clients get
//! `application/json` and 200 for every well-formed request.

use async_graphql::BatchResponse;
use poem::http::{header, HeaderValue, StatusCode};
use poem::{Request, Response};
use serde_json::{json, Value};

/// The GraphQL-over-HTTP media type.
const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// The media type a response is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFormat {
    /// `application/json`: the legacy type, for clients that do not ask for the other.
    Json,
    /// `application/graphql-response+json`.
    GraphqlResponseJson,
}

/// One operation's result, and whether it ever reached execution.
pub struct Outcome {
    /// The response as async-graphql produced it.
    pub response: async_graphql::Response,
    /// False when the request was refused before execution (it has no `data` then).
    pub executed: bool,
}

impl ResponseFormat {
    /// The format the request's `Accept` header asks for (`application/json` when unsure).
    pub fn of(request: &Request) -> Self {
        if accepted_media_types(request).any(|media| media == GRAPHQL_RESPONSE_JSON) {
            Self::GraphqlResponseJson
        } else {
            Self::Json
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json; charset=utf-8",
            Self::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
        }
    }

    /// Writes the results of a single request or a batch.
    pub fn render(self, outcomes: Vec<Outcome>, batch: bool) -> Response {
        let all_ok = outcomes.iter().all(|outcome| outcome.response.is_ok());
        let refused = !batch && outcomes.iter().any(|outcome| !outcome.executed);
        let mut bodies: Vec<Value> = outcomes
            .into_iter()
            .map(|outcome| self.body(outcome))
            .collect();
        let body = if batch {
            Value::Array(bodies)
        } else {
            bodies.pop().unwrap_or(Value::Null)
        };
        let status = if refused && self == Self::GraphqlResponseJson {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        let mut response = self.write(status, &body);
        if !all_ok {
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        response
    }

    /// A request refused before any operation ran: `status` with one coded error.
    pub fn refusal(self, status: StatusCode, field: &str, message: &str) -> Response {
        let body = json!({
            "errors": [{
                "message": message,
                "extensions": { "code": "BAD_USER_INPUT", "field": field },
            }],
        });
        self.write(status, &body)
    }

    fn body(self, outcome: Outcome) -> Value {
        let mut body = serde_json::to_value(&outcome.response).unwrap_or(Value::Null);
        if !outcome.executed && self == Self::GraphqlResponseJson {
            if let Some(object) = body.as_object_mut() {
                object.remove("data");
            }
        }
        body
    }

    fn write(self, status: StatusCode, body: &Value) -> Response {
        Response::builder()
            .status(status)
            .content_type(self.content_type())
            .body(body.to_string())
    }
}

/// Whether the request names `text/html` among what it accepts (a browser).
pub fn accepts_html(request: &Request) -> bool {
    accepted_media_types(request).any(|media| media == "text/html")
}

/// The media types of the `Accept` header, lower-cased, without parameters;
/// those with `q=0` are left out.
fn accepted_media_types(request: &Request) -> impl Iterator<Item = String> + '_ {
    request
        .headers()
        .get_all(header::ACCEPT)
        .into_iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|item| {
            let mut parts = item.split(';');
            let media = parts.next()?.trim().to_ascii_lowercase();
            let refused = parts.any(|parameter| {
                let parameter = parameter.trim().replace(' ', "");
                parameter
                    .strip_prefix("q=")
                    .and_then(|quality| quality.parse::<f32>().ok())
                    .is_some_and(|quality| quality <= 0.0)
            });
            (!refused).then_some(media)
        })
}

/// The single or batch response as a list of outcomes, with whether each executed.
pub fn outcomes(response: BatchResponse, executed: &[bool]) -> (Vec<Outcome>, bool) {
    let (responses, batch) = match response {
        BatchResponse::Single(response) => (vec![response], false),
        BatchResponse::Batch(responses) => (responses, true),
    };
    let outcomes = responses
        .into_iter()
        .zip(executed.iter().copied().chain(std::iter::repeat(true)))
        .map(|(response, executed)| Outcome { response, executed })
        .collect();
    (outcomes, batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_accepting(accept: &str) -> Request {
        Request::builder().header(header::ACCEPT, accept).finish()
    }

    #[test]
    fn the_accept_header_picks_the_format() {
        let cases = [
            (
                "application/graphql-response+json",
                ResponseFormat::GraphqlResponseJson,
            ),
            (
                "application/graphql-response+json, application/json;q=0.9",
                ResponseFormat::GraphqlResponseJson,
            ),
            ("application/json", ResponseFormat::Json),
            ("*/*", ResponseFormat::Json),
            (
                "application/graphql-response+json;q=0",
                ResponseFormat::Json,
            ),
        ];
        for (accept, format) in cases {
            assert_eq!(
                ResponseFormat::of(&request_accepting(accept)),
                format,
                "{accept}"
            );
        }
        assert_eq!(
            ResponseFormat::of(&Request::default()),
            ResponseFormat::Json
        );
        assert!(accepts_html(&request_accepting(
            "text/html,application/xhtml+xml,*/*;q=0.8"
        )));
        assert!(!accepts_html(&request_accepting("application/json")));
    }

    #[test]
    fn refused_requests_lose_data_only_in_the_graphql_response_format() {
        let refused = || Outcome {
            response: async_graphql::Response::from_errors(vec![async_graphql::ServerError::new(
                "bad", None,
            )]),
            executed: false,
        };
        let strict = ResponseFormat::GraphqlResponseJson.render(vec![refused()], false);
        assert_eq!(strict.status(), StatusCode::BAD_REQUEST);
        let legacy = ResponseFormat::Json.render(vec![refused()], false);
        assert_eq!(legacy.status(), StatusCode::OK);
        assert!(ResponseFormat::GraphqlResponseJson
            .body(refused())
            .get("data")
            .is_none());
        assert!(ResponseFormat::Json.body(refused()).get("data").is_some());
    }
}
