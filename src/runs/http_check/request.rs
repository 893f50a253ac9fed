//! Building the request to send from the spec: templating, default headers,
//! the body and its content type, and the record of what is sent.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use crate::cases::spec::{HttpBody, HttpMethod, HttpRequest, KeyValue};

use super::masking::{is_sensitive_header, Masker};
use super::template::template;
use super::{CaseContext, FailureKind, RequestFailure, RequestRecord};

fn method_name(method: HttpMethod) -> &'static str {
    match method {
        HttpMethod::Get => "GET",
        HttpMethod::Post => "POST",
        HttpMethod::Put => "PUT",
        HttpMethod::Patch => "PATCH",
        HttpMethod::Delete => "DELETE",
        HttpMethod::Head => "HEAD",
        HttpMethod::Options => "OPTIONS",
    }
}

fn reqwest_method(method: HttpMethod) -> reqwest::Method {
    match method {
        HttpMethod::Get => reqwest::Method::GET,
        HttpMethod::Post => reqwest::Method::POST,
        HttpMethod::Put => reqwest::Method::PUT,
        HttpMethod::Patch => reqwest::Method::PATCH,
        HttpMethod::Delete => reqwest::Method::DELETE,
        HttpMethod::Head => reqwest::Method::HEAD,
        HttpMethod::Options => reqwest::Method::OPTIONS,
    }
}

/// A request ready to send.
pub(super) struct Prepared {
    pub(super) method: reqwest::Method,
    pub(super) url: reqwest::Url,
    pub(super) headers: HeaderMap,
    pub(super) body: Option<Vec<u8>>,
    pub(super) timeout: Duration,
    pub(super) record: RequestRecord,
}

/// The record of a request that could not be prepared: the spec's own text.
pub(super) fn raw_record(request: &HttpRequest, ctx: &CaseContext<'_>) -> RequestRecord {
    RequestRecord {
        method: method_name(request.method).to_string(),
        url: request.url.clone(),
        headers: merge_headers(ctx.default_headers.to_vec(), request.headers.clone()),
        body_excerpt: None,
    }
}

/// Project defaults, minus those the case sets itself, then the case's headers.
fn merge_headers(defaults: Vec<KeyValue>, case: Vec<KeyValue>) -> Vec<KeyValue> {
    let mut merged: Vec<KeyValue> = defaults
        .into_iter()
        .filter(|d| !case.iter().any(|c| c.name.eq_ignore_ascii_case(&d.name)))
        .collect();
    merged.extend(case);
    merged
}

fn invalid(message: impl Into<String>) -> RequestFailure {
    RequestFailure::new(FailureKind::InvalidRequest, message)
}

fn fill(text: &str, ctx: &CaseContext<'_>) -> Result<String, RequestFailure> {
    template(text, ctx.variables)
        .map_err(|name| invalid(format!("undefined variable {{{{{name}}}}}")))
}

fn fill_pairs(pairs: &[KeyValue], ctx: &CaseContext<'_>) -> Result<Vec<KeyValue>, RequestFailure> {
    pairs
        .iter()
        .map(|kv| {
            Ok(KeyValue {
                name: fill(&kv.name, ctx)?,
                value: fill(&kv.value, ctx)?,
            })
        })
        .collect()
}

fn fill_json(value: &Value, ctx: &CaseContext<'_>) -> Result<Value, RequestFailure> {
    Ok(match value {
        Value::String(text) => Value::String(fill(text, ctx)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| fill_json(item, ctx))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| Ok((key.clone(), fill_json(item, ctx)?)))
                .collect::<Result<_, RequestFailure>>()?,
        ),
        other => other.clone(),
    })
}

pub(super) fn prepare(
    request: &HttpRequest,
    ctx: &CaseContext<'_>,
    masker: &mut Masker,
) -> Result<Prepared, RequestFailure> {
    if request.timeout_ms <= 0 {
        return Err(invalid(format!(
            "timeoutMs must be positive, got {}",
            request.timeout_ms
        )));
    }
    let url_text = fill(&request.url, ctx)?;
    let mut url = reqwest::Url::parse(url_text.trim())
        .map_err(|e| invalid(format!("malformed URL '{url_text}': {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(invalid(format!(
            "URL must be absolute http:// or https://, got '{url_text}'"
        )));
    }
    let query = fill_pairs(&request.query, ctx)?;
    if !query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for kv in &query {
            pairs.append_pair(&kv.name, &kv.value);
        }
    }

    let mut headers = merge_headers(
        fill_pairs(ctx.default_headers, ctx)?,
        fill_pairs(&request.headers, ctx)?,
    );
    for kv in headers.iter().filter(|kv| is_sensitive_header(&kv.name)) {
        masker.add_header_value(&kv.value);
    }
    let has_content_type = headers
        .iter()
        .any(|kv| kv.name.eq_ignore_ascii_case("content-type"));
    let set_content_type = |headers: &mut Vec<KeyValue>, value: &str| {
        if !has_content_type {
            headers.push(KeyValue {
                name: "content-type".to_string(),
                value: value.to_string(),
            });
        }
    };
    let body = match &request.body {
        None => None,
        Some(HttpBody {
            json: Some(json),
            text: None,
            form: None,
        }) => {
            let filled = fill_json(&json.0, ctx)?;
            set_content_type(&mut headers, "application/json");
            Some(serde_json::to_vec(&filled).map_err(|e| invalid(format!("JSON body: {e}")))?)
        }
        Some(HttpBody {
            json: None,
            text: Some(text),
            form: None,
        }) => Some(fill(text, ctx)?.into_bytes()),
        Some(HttpBody {
            json: None,
            text: None,
            form: Some(form),
        }) => {
            let fields = fill_pairs(form, ctx)?;
            let mut encoder = url::form_urlencoded::Serializer::new(String::new());
            for kv in &fields {
                encoder.append_pair(&kv.name, &kv.value);
            }
            set_content_type(&mut headers, "application/x-www-form-urlencoded");
            Some(encoder.finish().into_bytes())
        }
        Some(HttpBody {
            json: None,
            text: None,
            form: None,
        }) => None,
        Some(_) => {
            return Err(invalid(
                "body must set exactly one of json, text, form".to_string(),
            ))
        }
    };

    let mut header_map = HeaderMap::new();
    for kv in &headers {
        let name = HeaderName::from_bytes(kv.name.as_bytes())
            .map_err(|_| invalid(format!("invalid header name '{}'", kv.name)))?;
        let value = HeaderValue::from_str(&kv.value)
            .map_err(|_| invalid(format!("invalid value for header '{}'", kv.name)))?;
        header_map.append(name, value);
    }

    let record = RequestRecord {
        method: method_name(request.method).to_string(),
        url: url.to_string(),
        body_excerpt: body.as_deref().map(|bytes| masker.unmasked_excerpt(bytes)),
        headers,
    };
    Ok(Prepared {
        method: reqwest_method(request.method),
        url,
        headers: header_map,
        body,
        timeout: Duration::from_millis(request.timeout_ms.unsigned_abs().into()),
        record,
    })
}
