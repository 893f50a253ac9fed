//! Status, header and response-time assertions.

use crate::cases::spec::{HeaderAssertion, ResponseTimeAssertion, StatusAssertion};

use super::super::exchange::millis;
use super::super::masking::is_sensitive_header;
use super::super::MASK;
use super::{compile, quoted, Check, ResponseView};

impl ResponseView<'_> {
    pub(super) fn check_status(&self, a: &StatusAssertion) -> Check {
        let status = i32::from(self.exchange.status);
        let mut conditions = Vec::new();
        let mut passed = true;
        if let Some(equals) = a.equals {
            conditions.push(format!("== {equals}"));
            passed &= status == equals;
        }
        if let Some(one_of) = &a.one_of {
            let list: Vec<String> = one_of.iter().map(i32::to_string).collect();
            conditions.push(format!("one of [{}]", list.join(", ")));
            passed &= one_of.contains(&status);
        }
        match (a.min, a.max) {
            (Some(min), Some(max)) => conditions.push(format!("in {min}..{max}")),
            (Some(min), None) => conditions.push(format!(">= {min}")),
            (None, Some(max)) => conditions.push(format!("<= {max}")),
            (None, None) => {}
        }
        passed &= a.min.is_none_or(|min| status >= min) && a.max.is_none_or(|max| status <= max);
        if conditions.is_empty() {
            return Check {
                kind: "STATUS",
                description: "status (no condition given)".to_string(),
                expected: "one of equals, oneOf, min/max".to_string(),
                actual: status.to_string(),
                passed: false,
            };
        }
        let expected = conditions.join(" and ");
        Check {
            kind: "STATUS",
            description: format!("status {expected}"),
            expected,
            actual: status.to_string(),
            passed,
        }
    }

    pub(super) fn check_header(&self, a: &HeaderAssertion) -> Check {
        let name = a.name.to_ascii_lowercase();
        let values = self.header_values(&name);
        let mut conditions = Vec::new();
        let mut passed = true;
        let mut problem = None;
        let exists = match (a.exists, &a.equals, &a.matches) {
            (None, None, None) => Some(true),
            (exists, _, _) => exists,
        };
        if let Some(exists) = exists {
            conditions.push(if exists { "exists" } else { "is absent" }.to_string());
            passed &= values.is_empty() != exists;
        }
        if let Some(equals) = &a.equals {
            conditions.push(format!("equals {}", quoted(equals)));
            passed &= values.iter().any(|v| v == equals);
        }
        if let Some(pattern) = &a.matches {
            conditions.push(format!("matches /{pattern}/"));
            match compile(pattern) {
                Ok(re) => passed &= values.iter().any(|v| re.is_match(v)),
                Err(e) => {
                    passed = false;
                    problem = Some(e);
                }
            }
        }
        let expected = conditions.join(" and ");
        let actual = match problem {
            Some(problem) => problem,
            None if values.is_empty() => "absent".to_string(),
            None if is_sensitive_header(&name) => MASK.to_string(),
            None => values.join(", "),
        };
        Check {
            kind: "HEADER",
            description: format!("header {name} {expected}"),
            expected,
            actual,
            passed,
        }
    }

    pub(super) fn check_response_time(&self, a: &ResponseTimeAssertion) -> Check {
        let elapsed = millis(self.exchange.elapsed);
        Check {
            kind: "RESPONSE_TIME",
            description: format!("response time < {} ms", a.below_ms),
            expected: format!("< {} ms", a.below_ms),
            actual: format!("{elapsed} ms"),
            passed: elapsed < i64::from(a.below_ms),
        }
    }
}
