//! Reading the document text as JSON or YAML, and the order of its paths and methods.

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{Map, Number, Value};

use super::OpenApiError;

/// The syntax a document was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Json,
    Yaml,
}

/// The keys of `paths` and of each path item, in document order (`serde_json::Value` sorts them).
#[derive(Deserialize)]
struct Skeleton {
    #[serde(default)]
    paths: Option<oas3::Map<String, ItemKeys>>,
}

/// A path item's keys, or nothing when it is not a mapping.
#[derive(Deserialize)]
#[serde(untagged)]
enum ItemKeys {
    Keys(oas3::Map<String, IgnoredAny>),
    Other(IgnoredAny),
}

/// Each path with its keys, in document order.
pub(super) type KeyOrder = Vec<(String, Vec<String>)>;

impl Format {
    /// Parses the text into a JSON value.
    pub(super) fn parse(self, document: &str) -> Result<Value, OpenApiError> {
        match self {
            Format::Json => serde_json::from_str(document).map_err(|error| {
                let known = error.line() != 0;
                OpenApiError::Syntax {
                    format: "JSON",
                    message: error.to_string(),
                    line: known.then(|| error.line()),
                    column: known.then(|| error.column()),
                }
            }),
            Format::Yaml => {
                let yaml_error = |error: yaml_serde::Error| {
                    let location = error.location();
                    OpenApiError::Syntax {
                        format: "YAML",
                        message: error.to_string(),
                        line: location.as_ref().map(|location| location.line()),
                        column: location.as_ref().map(|location| location.column()),
                    }
                };
                let mut yaml: yaml_serde::Value =
                    yaml_serde::from_str(document).map_err(yaml_error)?;
                yaml.apply_merge().map_err(yaml_error)?;
                yaml_to_json(yaml)
            }
        }
    }

    /// The paths and their keys in document order (empty if the text cannot say).
    pub(super) fn key_order(self, document: &str) -> KeyOrder {
        let skeleton = match self {
            Format::Json => serde_json::from_str::<Skeleton>(document).ok(),
            Format::Yaml => yaml_serde::from_str::<Skeleton>(document).ok(),
        };
        skeleton
            .and_then(|skeleton| skeleton.paths)
            .map(|paths| {
                paths
                    .into_iter()
                    .map(|(path, item)| {
                        let keys = match item {
                            ItemKeys::Keys(keys) => keys.into_iter().map(|(key, _)| key).collect(),
                            ItemKeys::Other(_) => Vec::new(),
                        };
                        (path, keys)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Converts a YAML value to JSON: mapping keys become strings (`200:` is the key "200").
fn yaml_to_json(value: yaml_serde::Value) -> Result<Value, OpenApiError> {
    Ok(match value {
        yaml_serde::Value::Null => Value::Null,
        yaml_serde::Value::Bool(flag) => Value::Bool(flag),
        yaml_serde::Value::Number(number) => yaml_number(&number),
        yaml_serde::Value::String(text) => Value::String(text),
        yaml_serde::Value::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(yaml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        yaml_serde::Value::Mapping(mapping) => {
            let mut object = Map::new();
            for (key, value) in mapping {
                object.insert(yaml_key(key)?, yaml_to_json(value)?);
            }
            Value::Object(object)
        }
        yaml_serde::Value::Tagged(tagged) => yaml_to_json(tagged.value)?,
    })
}

fn yaml_number(number: &yaml_serde::Number) -> Value {
    if let Some(int) = number.as_i64() {
        Value::from(int)
    } else if let Some(int) = number.as_u64() {
        Value::from(int)
    } else {
        number
            .as_f64()
            .and_then(Number::from_f64)
            .map_or_else(|| Value::String(number.to_string()), Value::Number)
    }
}

fn yaml_key(key: yaml_serde::Value) -> Result<String, OpenApiError> {
    match key {
        yaml_serde::Value::String(text) => Ok(text),
        yaml_serde::Value::Number(number) => Ok(number.to_string()),
        yaml_serde::Value::Bool(flag) => Ok(flag.to_string()),
        yaml_serde::Value::Null => Ok("null".to_owned()),
        yaml_serde::Value::Tagged(tagged) => yaml_key(tagged.value),
        yaml_serde::Value::Sequence(_) | yaml_serde::Value::Mapping(_) => {
            Err(OpenApiError::Syntax {
                format: "YAML",
                message: "a mapping key is a list or a mapping, which JSON cannot hold".to_owned(),
                line: None,
                column: None,
            })
        }
    }
}
