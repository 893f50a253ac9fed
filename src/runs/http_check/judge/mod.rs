//! Judging a complete response: every assertion (a file per family) and the
//! captures.

use std::cell::OnceCell;

use regex::Regex;
use serde_json::Value;

use crate::cases::spec::{Assertion, HttpSpec, KeyValue};

use super::exchange::{key_values, millis, Exchange};
use super::masking::Masker;
use super::{AssertionOutcome, CaseVerdict, HttpCaseOutcome, RequestRecord, ResponseRecord};

mod body;
mod capture;
mod json_path;
mod status;

/// Evaluates every assertion and capture against a complete response (unmasked).
pub(super) fn judge(
    spec: &HttpSpec,
    exchange: Exchange,
    request: RequestRecord,
    masker: &Masker,
) -> HttpCaseOutcome {
    let view = ResponseView::new(&exchange);
    let assertions: Vec<AssertionOutcome> = spec
        .assertions
        .iter()
        .enumerate()
        .map(|(index, assertion)| {
            let check = view.check(assertion);
            AssertionOutcome {
                index: i32::try_from(index).unwrap_or(i32::MAX),
                kind: check.kind.to_string(),
                description: check.description,
                expected: check.expected,
                actual: check.actual,
                passed: check.passed,
            }
        })
        .collect();
    let captures = spec
        .captures
        .iter()
        .filter_map(|capture| {
            view.capture(capture).map(|value| KeyValue {
                name: capture.variable.clone(),
                value,
            })
        })
        .collect();
    let status = if assertions.iter().all(|a| a.passed) {
        CaseVerdict::Passed
    } else {
        CaseVerdict::Failed
    };
    HttpCaseOutcome {
        status,
        duration_ms: millis(exchange.elapsed),
        request,
        response: Some(ResponseRecord {
            status: i32::from(exchange.status),
            headers: key_values(&exchange.headers),
            body_excerpt: masker.unmasked_excerpt(&exchange.body),
            body_bytes: i64::try_from(exchange.body.len()).unwrap_or(i64::MAX),
        }),
        assertions,
        captures,
        error: None,
    }
}

/// The result of one check.
struct Check {
    kind: &'static str,
    description: String,
    expected: String,
    actual: String,
    passed: bool,
}

/// A complete response with its text and JSON parsed on first use.
struct ResponseView<'e> {
    exchange: &'e Exchange,
    text: OnceCell<String>,
    json: OnceCell<Result<Value, String>>,
}

fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| text.to_string())
}

fn compact(value: &Value) -> String {
    value.to_string()
}

fn compile(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| format!("invalid regular expression: {e}"))
}

/// JSON equality where numbers compare by value (1 == 1.0).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(x), Some(y), _, _) => x == y,
                (_, _, Some(x), Some(y)) => x == y,
                _ => x.as_f64() == y.as_f64(),
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, a)| y.get(key).is_some_and(|b| json_eq(a, b)))
        }
        _ => a == b,
    }
}

impl<'e> ResponseView<'e> {
    fn new(exchange: &'e Exchange) -> Self {
        Self {
            exchange,
            text: OnceCell::new(),
            json: OnceCell::new(),
        }
    }

    fn text(&self) -> &str {
        self.text
            .get_or_init(|| String::from_utf8_lossy(&self.exchange.body).into_owned())
    }

    fn json(&self) -> Result<&Value, &str> {
        self.json
            .get_or_init(|| {
                if self.exchange.body.iter().all(u8::is_ascii_whitespace) {
                    return Err("body is empty, not JSON".to_string());
                }
                serde_json::from_slice(&self.exchange.body)
                    .map_err(|e| format!("body is not JSON ({e})"))
            })
            .as_ref()
            .map_err(String::as_str)
    }

    fn header_values(&self, name: &str) -> Vec<&str> {
        self.exchange
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn check(&self, assertion: &Assertion) -> Check {
        let Assertion {
            status,
            header,
            json_path,
            body,
            keywords,
            response_time,
            json_schema,
        } = assertion;
        let set = [
            status.is_some(),
            header.is_some(),
            json_path.is_some(),
            body.is_some(),
            keywords.is_some(),
            response_time.is_some(),
            json_schema.is_some(),
        ]
        .iter()
        .filter(|set| **set)
        .count();
        if set != 1 {
            return Check {
                kind: "INVALID",
                description: "assertion must set exactly one field".to_string(),
                expected: "exactly one of status, header, jsonPath, body, keywords, responseTime, jsonSchema".to_string(),
                actual: format!("{set} set"),
                passed: false,
            };
        }
        if let Some(a) = status {
            self.check_status(a)
        } else if let Some(a) = header {
            self.check_header(a)
        } else if let Some(a) = json_path {
            self.check_json_path(a)
        } else if let Some(a) = body {
            self.check_body(a)
        } else if let Some(a) = keywords {
            self.check_keywords(a)
        } else if let Some(a) = response_time {
            self.check_response_time(a)
        } else if let Some(a) = json_schema {
            self.check_json_schema(a)
        } else {
            unreachable!("exactly one field is set")
        }
    }
}
