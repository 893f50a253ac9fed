//! JSONPath assertions.

use serde_json::Value;

use crate::cases::spec::{JsonPathAssertion, JsonPathOperator};

use super::{compact, compile, json_eq, Check, ResponseView};

fn operator_name(operator: JsonPathOperator) -> &'static str {
    match operator {
        JsonPathOperator::Exists => "EXISTS",
        JsonPathOperator::Equals => "EQUALS",
        JsonPathOperator::NotEquals => "NOT_EQUALS",
        JsonPathOperator::Contains => "CONTAINS",
        JsonPathOperator::Matches => "MATCHES",
        JsonPathOperator::GreaterThan => "GREATER_THAN",
        JsonPathOperator::LessThan => "LESS_THAN",
        JsonPathOperator::Count => "COUNT",
    }
}

impl ResponseView<'_> {
    pub(super) fn check_json_path(&self, a: &JsonPathAssertion) -> Check {
        static NULL: Value = Value::Null;
        let operator = operator_name(a.operator);
        // JSON null and an absent value are one and the same in the spec types:
        // EQUALS / NOT_EQUALS without a value compare with null.
        let value = match (a.operator, &a.value) {
            (_, Some(value)) => Some(&value.0),
            (JsonPathOperator::Equals | JsonPathOperator::NotEquals, None) => Some(&NULL),
            (_, None) => None,
        };
        let description = match value {
            Some(value) => format!("{} {operator} {}", a.path, compact(value)),
            None => format!("{} {operator}", a.path),
        };
        let fail = |expected: String, actual: String| Check {
            kind: "JSON_PATH",
            description: description.clone(),
            expected,
            actual,
            passed: false,
        };
        let expected_text = value.map_or_else(|| "a value".to_string(), compact);
        let json = match self.json() {
            Ok(json) => json,
            Err(e) => return fail(expected_text, e.to_string()),
        };
        let path = match serde_json_path::JsonPath::parse(&a.path) {
            Ok(path) => path,
            Err(e) => return fail(expected_text, format!("invalid JSONPath: {e}")),
        };
        let nodes = path.query(json).all();
        // The value a path points at: its only match, or the array of all its matches.
        let found = match nodes.as_slice() {
            [] => None,
            [one] => Some((*one).clone()),
            many => Some(Value::Array(many.iter().map(|v| (*v).clone()).collect())),
        };
        let found_text = found
            .as_ref()
            .map_or_else(|| "no match".to_string(), compact);
        let result = |expected: String, actual: String, passed: bool| Check {
            kind: "JSON_PATH",
            description: description.clone(),
            expected,
            actual,
            passed,
        };

        if a.operator == JsonPathOperator::Exists {
            // `value: false` asks for the path to match nothing.
            let want = !matches!(value, Some(Value::Bool(false)));
            let expected = if want { "a match" } else { "no match" };
            let actual = match nodes.len() {
                0 => "no match".to_string(),
                1 => found_text,
                n => format!("{n} matches"),
            };
            return result(expected.to_string(), actual, nodes.is_empty() != want);
        }
        if a.operator == JsonPathOperator::Count {
            let count = match nodes.as_slice() {
                [Value::Array(items)] => items.len(),
                nodes => nodes.len(),
            };
            return match value.and_then(Value::as_u64) {
                Some(want) => result(want.to_string(), count.to_string(), count as u64 == want),
                None => fail(
                    "a non-negative integer value".to_string(),
                    count.to_string(),
                ),
            };
        }
        let Some(value) = value else {
            return fail(
                format!("a value to compare with ({operator} needs one)"),
                found_text,
            );
        };
        let Some(found) = found else {
            return fail(expected_text, found_text);
        };
        match a.operator {
            JsonPathOperator::Equals => result(expected_text, found_text, json_eq(&found, value)),
            JsonPathOperator::NotEquals => result(
                format!("not {expected_text}"),
                found_text,
                !json_eq(&found, value),
            ),
            JsonPathOperator::Contains => match (&found, value) {
                (Value::String(hay), Value::String(needle)) => result(
                    format!("contains {expected_text}"),
                    found_text,
                    hay.contains(needle.as_str()),
                ),
                (Value::String(hay), other) => {
                    let needle = compact(other);
                    result(
                        format!("contains {expected_text}"),
                        found_text,
                        hay.contains(&needle),
                    )
                }
                (Value::Array(items), needle) => result(
                    format!("an array containing {expected_text}"),
                    found_text,
                    items.iter().any(|item| json_eq(item, needle)),
                ),
                _ => fail(
                    format!("a string or array containing {expected_text}"),
                    found_text,
                ),
            },
            JsonPathOperator::Matches => {
                let Value::String(pattern) = value else {
                    return fail(
                        "a regular expression string as value".to_string(),
                        found_text,
                    );
                };
                let expected = format!("matches /{pattern}/");
                let re = match compile(pattern) {
                    Ok(re) => re,
                    Err(e) => return fail(expected, e),
                };
                match &found {
                    Value::String(text) => result(expected, found_text, re.is_match(text)),
                    _ => fail(expected, format!("{found_text} (not a string)")),
                }
            }
            JsonPathOperator::GreaterThan | JsonPathOperator::LessThan => {
                let greater = a.operator == JsonPathOperator::GreaterThan;
                let expected = format!("{} {expected_text}", if greater { ">" } else { "<" });
                let Some(bound) = value.as_f64() else {
                    return fail(format!("{expected} (value must be a number)"), found_text);
                };
                let Some(number) = found.as_f64() else {
                    return fail(expected, format!("{found_text} (not a number)"));
                };
                let passed = if greater {
                    number > bound
                } else {
                    number < bound
                };
                result(expected, found_text, passed)
            }
            JsonPathOperator::Exists | JsonPathOperator::Count => unreachable!("handled above"),
        }
    }
}
