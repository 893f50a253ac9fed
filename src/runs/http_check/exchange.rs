//! The exchange: sending the request and reading the whole response under the
//! case's time limit, and classifying what went wrong.

use std::time::{Duration, Instant};

use crate::cases::spec::KeyValue;
use crate::egress::{denial_in, EgressClient};

use super::masking::Masker;
use super::request::Prepared;
use super::{
    CaseVerdict, FailureKind, HttpCaseOutcome, RequestFailure, RequestRecord, ResponseRecord,
    MAX_BODY_BYTES,
};

pub(super) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// A complete response.
pub(super) struct Exchange {
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
    pub(super) elapsed: Duration,
}

pub(super) type ExchangeError = (Option<ResponseRecord>, RequestFailure, Duration);

/// Sends the request and reads the whole body, all within the case's time limit.
pub(super) async fn exchange(
    client: &EgressClient,
    prepared: Prepared,
    masker: &Masker,
) -> Result<Exchange, ExchangeError> {
    let timeout_ms = prepared.timeout.as_millis();
    let timed_out = || {
        RequestFailure::new(
            FailureKind::Timeout,
            format!("no complete response within {timeout_ms} ms"),
        )
    };
    let denied = |denied: crate::egress::EgressDenied| {
        let failure = RequestFailure::new(FailureKind::EgressDenied, denied.to_string());
        (None, failure, Duration::ZERO)
    };
    let mut builder = client
        .request(prepared.method, prepared.url)
        .map_err(denied)?
        .headers(prepared.headers);
    if let Some(body) = prepared.body {
        builder = builder.body(body);
    }
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + prepared.timeout;
    let mut response = match tokio::time::timeout_at(deadline, builder.send()).await {
        Err(_) => return Err((None, timed_out(), started.elapsed())),
        Ok(Err(e)) => return Err((None, failure_from(&e), started.elapsed())),
        Ok(Ok(response)) => response,
    };
    let status = response.status().as_u16();
    let headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let partial = |body: &[u8]| {
        Some(ResponseRecord {
            status: i32::from(status),
            headers: key_values(&headers),
            body_excerpt: masker.unmasked_excerpt(body),
            body_bytes: i64::try_from(body.len()).unwrap_or(i64::MAX),
        })
    };
    let too_large = || {
        RequestFailure::new(
            FailureKind::ResponseBody,
            format!("response body larger than the {MAX_BODY_BYTES}-byte limit"),
        )
    };
    if response
        .content_length()
        .is_some_and(|length| length > MAX_BODY_BYTES as u64)
    {
        return Err((partial(&[]), too_large(), started.elapsed()));
    }
    let mut body = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, response.chunk()).await {
            Err(_) => return Err((partial(&body), timed_out(), started.elapsed())),
            Ok(Err(e)) => {
                let mut failure = failure_from(&e);
                if failure.kind != FailureKind::Timeout {
                    failure.kind = FailureKind::ResponseBody;
                }
                return Err((partial(&body), failure, started.elapsed()));
            }
            Ok(Ok(None)) => break,
            Ok(Ok(Some(chunk))) => {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    let room = MAX_BODY_BYTES - body.len();
                    body.extend_from_slice(&chunk[..room]);
                    return Err((partial(&body), too_large(), started.elapsed()));
                }
                body.extend_from_slice(&chunk);
            }
        }
    }
    Ok(Exchange {
        status,
        headers,
        body,
        elapsed: started.elapsed(),
    })
}

pub(super) fn key_values(pairs: &[(String, String)]) -> Vec<KeyValue> {
    pairs
        .iter()
        .map(|(name, value)| KeyValue {
            name: name.clone(),
            value: value.clone(),
        })
        .collect()
}

/// Classifies a reqwest error and describes it with its whole chain of causes.
fn failure_from(error: &reqwest::Error) -> RequestFailure {
    let mut message = error.to_string();
    let mut causes: Vec<&(dyn std::error::Error + 'static)> = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        causes.push(cause);
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    let is_tls = causes.iter().any(|cause| is_tls_error(*cause));
    let is_dns = causes.iter().any(|cause| cause.to_string() == "dns error");
    let kind = if denial_in(error).is_some() {
        FailureKind::EgressDenied
    } else if error.is_timeout() {
        FailureKind::Timeout
    } else if error.is_builder() {
        FailureKind::InvalidRequest
    } else if is_tls {
        FailureKind::Tls
    } else if is_dns {
        FailureKind::Dns
    } else if error.is_connect() {
        FailureKind::Connect
    } else if error.is_body() || error.is_decode() {
        FailureKind::ResponseBody
    } else {
        FailureKind::Other
    };
    RequestFailure::new(kind, message)
}

/// Whether an error is a rustls error, possibly wrapped in (nested) `io::Error`s.
fn is_tls_error(error: &(dyn std::error::Error + 'static)) -> bool {
    if error.is::<rustls::Error>() {
        return true;
    }
    match error
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        Some(inner) => is_tls_error(inner),
        None => false,
    }
}

pub(super) fn error_outcome(
    started: Instant,
    request: RequestRecord,
    failure: RequestFailure,
) -> HttpCaseOutcome {
    HttpCaseOutcome {
        status: CaseVerdict::Error,
        duration_ms: millis(started.elapsed()),
        request,
        response: None,
        assertions: Vec::new(),
        captures: Vec::new(),
        error: Some(failure),
    }
}
