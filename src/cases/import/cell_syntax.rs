//! The syntax of single cells (lists, yes/no, numbers, methods, URLs, name/value
//! pairs, bodies), shared with the exporter, which checks that what it writes reads back.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use crate::cases::spec::{HttpBody, HttpMethod, KeyValue};

const LIST_SEPARATORS: [char; 7] = [',', ';', '，', '；', '、', '\n', '\r'];

/// Splits a keyword or tag list at `,` `;` `，` `；` `、` and line breaks; items are trimmed, empty ones dropped.
pub(crate) fn split_list(text: &str) -> Vec<String> {
    text.split(LIST_SEPARATORS)
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(super) fn parse_bool(text: &str) -> Result<bool, String> {
    match text.trim().to_lowercase().as_str() {
        "true" | "1" | "yes" | "y" | "是" => Ok(true),
        "false" | "0" | "no" | "n" | "否" => Ok(false),
        _ => Err(format!(
            "`{text}` is not a yes/no value (use true/false, 1/0, yes/no or 是/否)"
        )),
    }
}

pub(super) fn parse_int(
    text: &str,
    range: std::ops::RangeInclusive<i32>,
    what: &str,
) -> Result<i32, String> {
    let text = text.trim();
    // Spreadsheets may keep whole numbers as decimals ("200.0").
    let whole = text
        .strip_suffix(".0")
        .or_else(|| text.strip_suffix(".00"))
        .unwrap_or(text);
    match whole.parse::<i32>() {
        Ok(value) if range.contains(&value) => Ok(value),
        _ => Err(format!(
            "`{text}` is not {what} (a whole number from {} to {})",
            range.start(),
            range.end()
        )),
    }
}

/// Every HTTP method with its name.
pub(crate) const METHODS: [(HttpMethod, &str); 7] = [
    (HttpMethod::Get, "GET"),
    (HttpMethod::Post, "POST"),
    (HttpMethod::Put, "PUT"),
    (HttpMethod::Patch, "PATCH"),
    (HttpMethod::Delete, "DELETE"),
    (HttpMethod::Head, "HEAD"),
    (HttpMethod::Options, "OPTIONS"),
];

pub(super) fn parse_method(text: &str) -> Result<HttpMethod, String> {
    METHODS
        .iter()
        .find(|(_, name)| name.eq_ignore_ascii_case(text.trim()))
        .map(|(method, _)| *method)
        .ok_or_else(|| {
            format!(
                "`{text}` is not an HTTP method (use one of {})",
                METHODS.map(|(_, name)| name).join(", ")
            )
        })
}

pub(super) fn check_url(url: &str) -> Result<(), String> {
    let absolute = url.starts_with("http://") || url.starts_with("https://");
    if (absolute || url.starts_with("{{")) && !url.contains(char::is_whitespace) {
        Ok(())
    } else {
        Err(format!(
            "`{url}` must be an http(s) URL or start with a {{{{variable}}}}"
        ))
    }
}

/// How a list of name/value pairs is written in a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PairStyle {
    /// `Name: value`, one per line or separated by `;`.
    Header,
    /// `name=value`, one per line or separated by `&`.
    Query,
}

/// Reads name/value pairs: a JSON object `{"name": "value"}` (order and repeats kept), or lines in `style`.
pub(crate) fn parse_pairs(text: &str, style: PairStyle) -> Result<Vec<KeyValue>, String> {
    let text = text.trim();
    let pairs = if text.starts_with('{') && !text.starts_with("{{") {
        serde_json::from_str::<OrderedPairs>(text)
            .map_err(|error| format!("malformed JSON object: {error}"))?
            .0
    } else {
        let mut pairs = Vec::new();
        for item in split_pair_items(text, style) {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let (name, value) = match style {
                PairStyle::Header => item.split_once(':').ok_or_else(|| {
                    format!("`{item}` is not a `Name: value` pair (or give a JSON object)")
                })?,
                PairStyle::Query => item.split_once('=').unwrap_or((item, "")),
            };
            pairs.push(KeyValue {
                name: name.trim().to_owned(),
                value: value.trim().to_owned(),
            });
        }
        pairs
    };
    for pair in &pairs {
        if pair.name.is_empty() {
            return Err("a pair has an empty name".to_owned());
        }
        if style == PairStyle::Header && !is_header_name(&pair.name) {
            return Err(format!("`{}` is not a valid header name", pair.name));
        }
    }
    Ok(pairs)
}

fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~{}".contains(&b))
}

/// Splits pair text into items: at line breaks, and at `&` (query) or at a `;`
/// that starts a new `Name:` (headers, so `text/html; charset=utf-8` stays whole).
fn split_pair_items(text: &str, style: PairStyle) -> Vec<&str> {
    let mut items = Vec::new();
    for line in text.lines() {
        match style {
            PairStyle::Query => items.extend(line.split('&')),
            PairStyle::Header => {
                let mut start = 0;
                for (at, _) in line.match_indices(';') {
                    if starts_header(&line[at + 1..]) {
                        items.push(&line[start..at]);
                        start = at + 1;
                    }
                }
                items.push(&line[start..]);
            }
        }
    }
    items
}

fn starts_header(rest: &str) -> bool {
    rest.split_once(':')
        .is_some_and(|(name, _)| is_header_name(name.trim()))
}

/// A JSON object read as ordered name/value pairs.
struct OrderedPairs(Vec<KeyValue>);

impl<'de> Deserialize<'de> for OrderedPairs {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor;
        impl<'de> Visitor<'de> for PairsVisitor {
            type Value = OrderedPairs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of names to string values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedPairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some((name, value)) = map.next_entry::<String, Value>()? {
                    let value = match value {
                        Value::String(text) => text,
                        Value::Number(number) => number.to_string(),
                        Value::Bool(flag) => flag.to_string(),
                        _ => {
                            return Err(de::Error::custom(format!(
                                "the value of `{name}` must be a string"
                            )))
                        }
                    };
                    pairs.push(KeyValue { name, value });
                }
                Ok(OrderedPairs(pairs))
            }
        }
        deserializer.deserialize_map(PairsVisitor)
    }
}

/// Which shape a body cell holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyType {
    Json,
    Text,
    Form,
}

pub(super) fn parse_body_type(text: &str) -> Result<Option<BodyType>, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "" | "auto" => Ok(None),
        "json" => Ok(Some(BodyType::Json)),
        "text" => Ok(Some(BodyType::Text)),
        "form" => Ok(Some(BodyType::Form)),
        _ => Err(format!(
            "`{text}` is not a body type (use json, text or form)"
        )),
    }
}

/// Reads a body cell; without a type, JSON if it parses as JSON, else text.
pub(crate) fn body_from(text: &str, body_type: Option<BodyType>) -> Result<HttpBody, String> {
    let json = |value| HttpBody {
        json: Some(async_graphql::Json(value)),
        ..HttpBody::default()
    };
    let text_body = || HttpBody {
        text: Some(text.to_owned()),
        ..HttpBody::default()
    };
    match body_type {
        None => Ok(serde_json::from_str::<Value>(text).map_or_else(|_| text_body(), json)),
        Some(BodyType::Text) => Ok(text_body()),
        Some(BodyType::Json) => serde_json::from_str::<Value>(text)
            .map(json)
            .map_err(|error| format!("is not valid JSON: {error}")),
        Some(BodyType::Form) => Ok(HttpBody {
            form: Some(parse_pairs(text, PairStyle::Query)?),
            ..HttpBody::default()
        }),
    }
}

pub(super) fn parse_json_list<T: de::DeserializeOwned>(
    text: &str,
    what: &str,
) -> Result<Vec<T>, String> {
    serde_json::from_str(text).map_err(|error| format!("is not a JSON array of {what}: {error}"))
}
