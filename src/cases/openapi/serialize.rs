//! Turning example values into request text: parameter styles for path, query and header values.

use oas3::spec::{Parameter, ParameterStyle};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use crate::cases::spec::KeyValue;

/// Characters left as they are in a path parameter value: RFC 3986 unreserved ones.
const PATH_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A scalar as text: strings as they are, other values as compact JSON, null as "".
pub(super) fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A value as one string: arrays joined by `separator`, objects as `k,v` pairs (or `k=v` when exploded).
pub(super) fn joined(value: &Value, separator: &str, explode: bool) -> String {
    match value {
        Value::Array(items) => items
            .iter()
            .map(scalar_text)
            .collect::<Vec<_>>()
            .join(separator),
        Value::Object(fields) => fields
            .iter()
            .map(|(name, value)| {
                if explode {
                    format!("{name}={}", scalar_text(value))
                } else {
                    format!("{name},{}", scalar_text(value))
                }
            })
            .collect::<Vec<_>>()
            .join(","),
        other => scalar_text(other),
    }
}

/// A path parameter's value, serialized by its style and URL-encoded.
pub(super) fn path_text(parameter: &Parameter, value: &Value) -> String {
    let explode = parameter.explode.unwrap_or(false);
    let encode = |text: String| utf8_percent_encode(&text, PATH_VALUE).to_string();
    let parts: Vec<String> = match value {
        Value::Array(items) => items.iter().map(scalar_text).map(encode).collect(),
        Value::Object(fields) if explode => fields
            .iter()
            .map(|(name, value)| format!("{}={}", encode(name.clone()), encode(scalar_text(value))))
            .collect(),
        Value::Object(fields) => fields
            .iter()
            .flat_map(|(name, value)| [encode(name.clone()), encode(scalar_text(value))])
            .collect(),
        other => vec![encode(scalar_text(other))],
    };
    match parameter.style {
        Some(ParameterStyle::Label) => format!(".{}", parts.join(if explode { "." } else { "," })),
        Some(ParameterStyle::Matrix) => {
            format!(";{}={}", encode(parameter.name.clone()), parts.join(","))
        }
        _ => parts.join(","),
    }
}

/// A query parameter's name/value pairs, serialized by its style (values left unencoded).
pub(super) fn query_pairs(parameter: &Parameter, value: &Value) -> Vec<KeyValue> {
    let style = parameter.style.unwrap_or(ParameterStyle::Form);
    let explode = parameter.explode.unwrap_or(style == ParameterStyle::Form);
    let pair = |name: &str, value: String| KeyValue {
        name: name.to_owned(),
        value,
    };
    match (value, style) {
        (Value::Array(items), ParameterStyle::SpaceDelimited) => {
            vec![pair(
                &parameter.name,
                joined(&Value::Array(items.clone()), " ", false),
            )]
        }
        (Value::Array(items), ParameterStyle::PipeDelimited) => {
            vec![pair(
                &parameter.name,
                joined(&Value::Array(items.clone()), "|", false),
            )]
        }
        (Value::Array(items), _) if explode => items
            .iter()
            .map(|item| pair(&parameter.name, scalar_text(item)))
            .collect(),
        (Value::Object(fields), ParameterStyle::DeepObject) => fields
            .iter()
            .map(|(name, value)| pair(&format!("{}[{name}]", parameter.name), scalar_text(value)))
            .collect(),
        (Value::Object(fields), _) if explode => fields
            .iter()
            .map(|(name, value)| pair(name, scalar_text(value)))
            .collect(),
        (other, _) => vec![pair(&parameter.name, joined(other, ",", false))],
    }
}

/// Whether `name` is a valid HTTP header name (an RFC 9110 token).
pub(super) fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A header value with line breaks (which headers cannot hold) turned into spaces.
pub(super) fn header_text(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}
