//! Body text, keyword and JSON Schema assertions.

use crate::cases::spec::{BodyAssertion, JsonSchemaAssertion, KeywordsAssertion};

use super::{compile, quoted, Check, ResponseView};

/// Most JSON Schema errors listed in an assertion's `actual`.
const MAX_SCHEMA_ERRORS: usize = 5;

impl ResponseView<'_> {
    pub(super) fn check_body(&self, a: &BodyAssertion) -> Check {
        let text = self.text();
        let mut conditions = Vec::new();
        let mut findings = Vec::new();
        let mut passed = true;
        if let Some(needle) = &a.contains {
            conditions.push(format!("contains {}", quoted(needle)));
            let found = text.contains(needle.as_str());
            findings.push(if found { "found" } else { "not found" }.to_string());
            passed &= found;
        }
        if let Some(pattern) = &a.matches {
            conditions.push(format!("matches /{pattern}/"));
            match compile(pattern) {
                Ok(re) => {
                    let found = re.find(text);
                    findings.push(match found {
                        Some(m) => format!("matched {}", quoted(m.as_str())),
                        None => "no match".to_string(),
                    });
                    passed &= found.is_some();
                }
                Err(e) => {
                    findings.push(e);
                    passed = false;
                }
            }
        }
        if conditions.is_empty() {
            return Check {
                kind: "BODY",
                description: "body (no condition given)".to_string(),
                expected: "contains or matches".to_string(),
                actual: format!("{} bytes", self.exchange.body.len()),
                passed: false,
            };
        }
        let expected = conditions.join(" and ");
        let mut actual = findings.join("; ");
        if !passed {
            actual.push_str(&format!(" in a {}-byte body", self.exchange.body.len()));
        }
        Check {
            kind: "BODY",
            description: format!("body {expected}"),
            expected,
            actual,
            passed,
        }
    }

    pub(super) fn check_keywords(&self, a: &KeywordsAssertion) -> Check {
        let body = self.text().to_lowercase();
        let missing: Vec<&String> = a
            .all
            .iter()
            .filter(|keyword| !body.contains(&keyword.to_lowercase()))
            .collect();
        let list = |words: &mut dyn Iterator<Item = &String>| {
            words.map(|w| quoted(w)).collect::<Vec<_>>().join(", ")
        };
        let expected = format!("all of [{}]", list(&mut a.all.iter()));
        let actual = if missing.is_empty() {
            "all present".to_string()
        } else {
            format!("missing [{}]", list(&mut missing.iter().copied()))
        };
        Check {
            kind: "KEYWORDS",
            description: format!("body contains (any case) {expected}"),
            expected,
            actual,
            passed: missing.is_empty(),
        }
    }

    pub(super) fn check_json_schema(&self, a: &JsonSchemaAssertion) -> Check {
        let fail = |actual: String| Check {
            kind: "JSON_SCHEMA",
            description: "body matches JSON Schema".to_string(),
            expected: "valid against the schema".to_string(),
            actual,
            passed: false,
        };
        let validator = match jsonschema::validator_for(&a.schema.0) {
            Ok(validator) => validator,
            Err(e) => return fail(format!("invalid schema: {e}")),
        };
        let json = match self.json() {
            Ok(json) => json,
            Err(e) => return fail(e.to_string()),
        };
        let errors: Vec<String> = validator
            .iter_errors(json)
            .map(|e| {
                let at = e.instance_path().to_string();
                format!("at {}: {e}", if at.is_empty() { "/" } else { &at })
            })
            .collect();
        if errors.is_empty() {
            return Check {
                kind: "JSON_SCHEMA",
                description: "body matches JSON Schema".to_string(),
                expected: "valid against the schema".to_string(),
                actual: "valid".to_string(),
                passed: true,
            };
        }
        let mut actual = errors
            .iter()
            .take(MAX_SCHEMA_ERRORS)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ");
        if errors.len() > MAX_SCHEMA_ERRORS {
            actual.push_str(&format!(" (and {} more)", errors.len() - MAX_SCHEMA_ERRORS));
        }
        fail(actual)
    }
}
