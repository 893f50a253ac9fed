//! Checks a case spec on write; each problem names the input field at fault.

use crate::error::{AppError, AppResult};

use super::spec::{
    Assertion, Capture, CaseKind, CaseSpec, HeaderAssertion, HttpBody, HttpRequest, HttpSpec,
    JsonPathAssertion, JsonPathOperator, LoadProfile, PerfSpec, PerfThreshold, ScriptSpec,
    StatusAssertion, UiAction, UiSpec,
};

/// Longest per-request timeout a case may ask for, in milliseconds.
const MAX_TIMEOUT_MS: i32 = 600_000;
/// Most virtual users or requests per second a load test may ask for.
const MAX_LOAD: i32 = 10_000;
/// Longest load test, script or UI run, in seconds.
const MAX_DURATION_SECONDS: i32 = 86_400;
/// Largest total size of a script's files, in bytes.
const MAX_SCRIPT_BYTES: usize = 1 << 20;

/// Validates `spec` (found under the input field `root`) and returns the case kind it defines.
pub fn validate_spec(root: &str, spec: &CaseSpec) -> AppResult<CaseKind> {
    let set = [
        spec.http.is_some(),
        spec.perf.is_some(),
        spec.script.is_some(),
        spec.ui.is_some(),
    ];
    if set.iter().filter(|set| **set).count() != 1 {
        return Err(AppError::bad_input(
            root,
            "exactly one of http, perf, script, ui must be given",
        ));
    }
    if let Some(http) = &spec.http {
        http_spec(&format!("{root}.http"), http)?;
        return Ok(CaseKind::Http);
    }
    if let Some(perf) = &spec.perf {
        perf_spec(&format!("{root}.perf"), perf)?;
        return Ok(CaseKind::Perf);
    }
    if let Some(script) = &spec.script {
        script_spec(&format!("{root}.script"), script)?;
        return Ok(CaseKind::Script);
    }
    let ui = spec.ui.as_ref().expect("one kind is set");
    ui_spec(&format!("{root}.ui"), ui)?;
    Ok(CaseKind::Ui)
}

fn bad(field: String, message: impl Into<String>) -> AppError {
    AppError::bad_input(&field, message)
}

fn exactly_one(field: &str, names: &str, set: &[bool]) -> AppResult<()> {
    if set.iter().filter(|set| **set).count() == 1 {
        Ok(())
    } else {
        Err(bad(
            field.to_owned(),
            format!("exactly one of {names} must be given"),
        ))
    }
}

fn regex(field: String, pattern: &str) -> AppResult<()> {
    regex::Regex::new(pattern)
        .map(|_| ())
        .map_err(|error| bad(field, format!("not a valid regular expression: {error}")))
}

fn json_path(field: String, path: &str) -> AppResult<()> {
    serde_json_path::JsonPath::parse(path)
        .map(|_| ())
        .map_err(|error| bad(field, format!("not a valid JSONPath: {error}")))
}

fn in_range(field: String, value: i32, range: std::ops::RangeInclusive<i32>) -> AppResult<()> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(bad(
            field,
            format!("must be between {} and {}", range.start(), range.end()),
        ))
    }
}

fn request(field: &str, request: &HttpRequest) -> AppResult<()> {
    let url = request.url.trim();
    let absolute = url.starts_with("http://") || url.starts_with("https://");
    if !(absolute || url.starts_with("{{")) || url.contains(char::is_whitespace) {
        return Err(bad(
            format!("{field}.url"),
            "must be an http(s) URL or start with a {{variable}}",
        ));
    }
    in_range(
        format!("{field}.timeoutMs"),
        request.timeout_ms,
        1..=MAX_TIMEOUT_MS,
    )?;
    for (index, header) in request.headers.iter().enumerate() {
        let valid = !header.name.is_empty()
            && header
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~{}".contains(&b));
        if !valid {
            return Err(bad(
                format!("{field}.headers[{index}].name"),
                "not a valid header name",
            ));
        }
    }
    for (index, parameter) in request.query.iter().enumerate() {
        if parameter.name.is_empty() {
            return Err(bad(
                format!("{field}.query[{index}].name"),
                "must not be empty",
            ));
        }
    }
    if let Some(body) = &request.body {
        body_spec(&format!("{field}.body"), body)?;
    }
    Ok(())
}

fn body_spec(field: &str, body: &HttpBody) -> AppResult<()> {
    exactly_one(
        field,
        "json, text, form",
        &[
            body.json.is_some(),
            body.text.is_some(),
            body.form.is_some(),
        ],
    )
}

fn http_spec(field: &str, spec: &HttpSpec) -> AppResult<()> {
    request(&format!("{field}.request"), &spec.request)?;
    for (index, capture) in spec.captures.iter().enumerate() {
        capture_spec(&format!("{field}.captures[{index}]"), capture)?;
    }
    for (index, assertion) in spec.assertions.iter().enumerate() {
        assertion_spec(&format!("{field}.assertions[{index}]"), assertion)?;
    }
    Ok(())
}

fn capture_spec(field: &str, capture: &Capture) -> AppResult<()> {
    let mut chars = capture.variable.chars();
    let valid_name = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_name {
        return Err(bad(
            format!("{field}.variable"),
            "must be a name of letters, digits and '_' not starting with a digit",
        ));
    }
    exactly_one(
        field,
        "jsonPath, header, regex",
        &[
            capture.json_path.is_some(),
            capture.header.is_some(),
            capture.regex.is_some(),
        ],
    )?;
    if let Some(path) = &capture.json_path {
        json_path(format!("{field}.jsonPath"), path)?;
    }
    if let Some(pattern) = &capture.regex {
        regex(format!("{field}.regex"), pattern)?;
    }
    if let Some(group) = capture.group {
        in_range(format!("{field}.group"), group, 0..=99)?;
    }
    Ok(())
}

fn assertion_spec(field: &str, assertion: &Assertion) -> AppResult<()> {
    exactly_one(
        field,
        "status, header, jsonPath, body, keywords, responseTime, jsonSchema",
        &[
            assertion.status.is_some(),
            assertion.header.is_some(),
            assertion.json_path.is_some(),
            assertion.body.is_some(),
            assertion.keywords.is_some(),
            assertion.response_time.is_some(),
            assertion.json_schema.is_some(),
        ],
    )?;
    if let Some(status) = &assertion.status {
        status_assertion(&format!("{field}.status"), status)?;
    }
    if let Some(header) = &assertion.header {
        header_assertion(&format!("{field}.header"), header)?;
    }
    if let Some(path) = &assertion.json_path {
        json_path_assertion(&format!("{field}.jsonPath"), path)?;
    }
    if let Some(body) = &assertion.body {
        exactly_one(
            &format!("{field}.body"),
            "contains, matches",
            &[body.contains.is_some(), body.matches.is_some()],
        )?;
        if let Some(pattern) = &body.matches {
            regex(format!("{field}.body.matches"), pattern)?;
        }
    }
    if let Some(keywords) = &assertion.keywords {
        if keywords.all.is_empty() || keywords.all.iter().any(|k| k.trim().is_empty()) {
            return Err(bad(
                format!("{field}.keywords.all"),
                "needs at least one keyword, none empty",
            ));
        }
    }
    if let Some(time) = &assertion.response_time {
        in_range(
            format!("{field}.responseTime.belowMs"),
            time.below_ms,
            1..=MAX_TIMEOUT_MS,
        )?;
    }
    if let Some(schema) = &assertion.json_schema {
        if !(schema.schema.0.is_object() || schema.schema.0.is_boolean()) {
            return Err(bad(
                format!("{field}.jsonSchema.schema"),
                "a JSON Schema is an object or a boolean",
            ));
        }
    }
    Ok(())
}

fn status_assertion(field: &str, status: &StatusAssertion) -> AppResult<()> {
    let range = status.min.is_some() || status.max.is_some();
    exactly_one(
        field,
        "equals, oneOf, min/max",
        &[status.equals.is_some(), status.one_of.is_some(), range],
    )?;
    let codes = status
        .equals
        .iter()
        .chain(status.one_of.iter().flatten())
        .chain(status.min.iter())
        .chain(status.max.iter());
    for code in codes {
        in_range(field.to_owned(), *code, 100..=599)?;
    }
    if matches!(status.one_of.as_deref(), Some([])) {
        return Err(bad(format!("{field}.oneOf"), "needs at least one code"));
    }
    if let (Some(min), Some(max)) = (status.min, status.max) {
        if min > max {
            return Err(bad(format!("{field}.min"), "min must not exceed max"));
        }
    }
    Ok(())
}

fn header_assertion(field: &str, header: &HeaderAssertion) -> AppResult<()> {
    if header.name.trim().is_empty() {
        return Err(bad(format!("{field}.name"), "must not be empty"));
    }
    exactly_one(
        field,
        "exists, equals, matches",
        &[
            header.exists.is_some(),
            header.equals.is_some(),
            header.matches.is_some(),
        ],
    )?;
    if let Some(pattern) = &header.matches {
        regex(format!("{field}.matches"), pattern)?;
    }
    Ok(())
}

fn json_path_assertion(field: &str, assertion: &JsonPathAssertion) -> AppResult<()> {
    json_path(format!("{field}.path"), &assertion.path)?;
    let value = assertion.value.as_ref().map(|value| &value.0);
    let value_field = format!("{field}.value");
    match assertion.operator {
        JsonPathOperator::Exists => Ok(()),
        JsonPathOperator::GreaterThan | JsonPathOperator::LessThan | JsonPathOperator::Count => {
            match value {
                Some(value) if value.is_number() => Ok(()),
                _ => Err(bad(value_field, "this operator compares with a number")),
            }
        }
        JsonPathOperator::Matches => match value.and_then(|v| v.as_str()) {
            Some(pattern) => regex(value_field, pattern),
            None => Err(bad(
                value_field,
                "MATCHES needs a regular expression string",
            )),
        },
        JsonPathOperator::Equals | JsonPathOperator::NotEquals => Ok(()),
        JsonPathOperator::Contains => match value {
            Some(_) => Ok(()),
            None => Err(bad(value_field, "CONTAINS needs a value")),
        },
    }
}

fn perf_spec(field: &str, spec: &PerfSpec) -> AppResult<()> {
    request(&format!("{field}.request"), &spec.request)?;
    load_profile(&format!("{field}.load"), &spec.load)?;
    for (index, threshold) in spec.thresholds.iter().enumerate() {
        perf_threshold(&format!("{field}.thresholds[{index}]"), threshold)?;
    }
    Ok(())
}

fn load_profile(field: &str, load: &LoadProfile) -> AppResult<()> {
    exactly_one(
        field,
        "virtualUsers, arrivalRate",
        &[load.virtual_users.is_some(), load.arrival_rate.is_some()],
    )?;
    if let Some(users) = load.virtual_users {
        in_range(format!("{field}.virtualUsers"), users, 1..=MAX_LOAD)?;
    }
    if let Some(rate) = load.arrival_rate {
        in_range(format!("{field}.arrivalRate"), rate, 1..=MAX_LOAD)?;
    }
    in_range(
        format!("{field}.durationSeconds"),
        load.duration_seconds,
        1..=MAX_DURATION_SECONDS,
    )?;
    for (index, stage) in load.stages.iter().enumerate() {
        let stage_field = format!("{field}.stages[{index}]");
        in_range(
            format!("{stage_field}.durationSeconds"),
            stage.duration_seconds,
            1..=MAX_DURATION_SECONDS,
        )?;
        in_range(format!("{stage_field}.target"), stage.target, 0..=MAX_LOAD)?;
    }
    Ok(())
}

fn perf_threshold(field: &str, threshold: &PerfThreshold) -> AppResult<()> {
    let latency = threshold.percentile.is_some() || threshold.below_ms.is_some();
    exactly_one(
        field,
        "percentile with belowMs, maxErrorRatePercent",
        &[latency, threshold.max_error_rate_percent.is_some()],
    )?;
    if latency {
        match (threshold.percentile, threshold.below_ms) {
            (Some(percentile), Some(below_ms)) => {
                if !(percentile > 0.0 && percentile <= 100.0) {
                    return Err(bad(
                        format!("{field}.percentile"),
                        "must be above 0 and at most 100",
                    ));
                }
                in_range(format!("{field}.belowMs"), below_ms, 1..=MAX_TIMEOUT_MS)?;
            }
            _ => {
                return Err(bad(
                    field.to_owned(),
                    "a latency threshold needs both percentile and belowMs",
                ))
            }
        }
    }
    if let Some(rate) = threshold.max_error_rate_percent {
        if !(0.0..=100.0).contains(&rate) {
            return Err(bad(
                format!("{field}.maxErrorRatePercent"),
                "must be between 0 and 100",
            ));
        }
    }
    Ok(())
}

fn script_spec(field: &str, spec: &ScriptSpec) -> AppResult<()> {
    if spec.files.is_empty() {
        return Err(bad(format!("{field}.files"), "needs at least one file"));
    }
    let mut seen = std::collections::HashSet::new();
    let mut total = 0;
    for (index, file) in spec.files.iter().enumerate() {
        let path = file.path.trim();
        let safe = !path.is_empty()
            && !path.starts_with('/')
            && !path.contains('\\')
            && path.split('/').all(|part| !part.is_empty() && part != "..");
        if !safe {
            return Err(bad(
                format!("{field}.files[{index}].path"),
                "must be a relative path without '..'",
            ));
        }
        if !seen.insert(path) {
            return Err(bad(format!("{field}.files[{index}].path"), "appears twice"));
        }
        total += file.content.len();
    }
    if total > MAX_SCRIPT_BYTES {
        return Err(bad(format!("{field}.files"), "files exceed 1 MiB in total"));
    }
    let has_test = spec.files.iter().any(|file| {
        let name = file.path.rsplit('/').next().unwrap_or_default();
        name.ends_with(".py") && (name.starts_with("test_") || name.ends_with("_test.py"))
    });
    if !has_test {
        return Err(bad(
            format!("{field}.files"),
            "needs a pytest file named test_*.py or *_test.py",
        ));
    }
    in_range(
        format!("{field}.timeoutSeconds"),
        spec.timeout_seconds,
        1..=MAX_DURATION_SECONDS,
    )
}

fn ui_spec(field: &str, spec: &UiSpec) -> AppResult<()> {
    if spec.steps.is_empty() {
        return Err(bad(format!("{field}.steps"), "needs at least one step"));
    }
    for (index, step) in spec.steps.iter().enumerate() {
        let step_field = format!("{field}.steps[{index}]");
        let needs_selector = matches!(
            step.action,
            UiAction::Click | UiAction::Type | UiAction::WaitForSelector | UiAction::AssertVisible
        );
        let needs_text = matches!(step.action, UiAction::Type | UiAction::AssertText);
        if step.action == UiAction::Open && step.url.as_deref().is_none_or(str::is_empty) {
            return Err(bad(format!("{step_field}.url"), "OPEN needs a url"));
        }
        if needs_selector && step.selector.as_deref().is_none_or(str::is_empty) {
            return Err(bad(
                format!("{step_field}.selector"),
                "this action needs a selector",
            ));
        }
        if needs_text && step.text.is_none() {
            return Err(bad(format!("{step_field}.text"), "this action needs text"));
        }
    }
    in_range(
        format!("{field}.timeoutSeconds"),
        spec.timeout_seconds,
        1..=MAX_DURATION_SECONDS,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::spec::*;

    fn http(url: &str, assertions: Vec<Assertion>) -> CaseSpec {
        CaseSpec {
            http: Some(HttpSpec {
                request: HttpRequest {
                    method: HttpMethod::Get,
                    url: url.into(),
                    query: vec![],
                    headers: vec![],
                    body: None,
                    timeout_ms: 1000,
                    follow_redirects: true,
                },
                captures: vec![],
                assertions,
            }),
            ..CaseSpec::default()
        }
    }

    fn field_of(result: AppResult<CaseKind>) -> String {
        match result {
            Err(AppError::BadInput { field, .. }) => field,
            other => panic!("expected bad input, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_http_spec_is_an_http_case() {
        let status = Assertion {
            status: Some(StatusAssertion {
                min: Some(200),
                max: Some(299),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            validate_spec("spec", &http("{{baseUrl}}/x", vec![status])).unwrap(),
            CaseKind::Http
        );
    }

    #[test]
    fn problems_name_the_nested_field() {
        assert_eq!(
            field_of(validate_spec("spec", &CaseSpec::default())),
            "spec"
        );
        assert_eq!(
            field_of(validate_spec("spec", &http("ftp://x", vec![]))),
            "spec.http.request.url"
        );
        let two_kinds = Assertion {
            body: Some(BodyAssertion {
                contains: Some("a".into()),
                matches: Some("(".into()),
            }),
            ..Default::default()
        };
        assert_eq!(
            field_of(validate_spec(
                "spec",
                &http("http://x", vec![Assertion::default(), two_kinds])
            )),
            "spec.http.assertions[0]"
        );
        let bad_regex = Assertion {
            body: Some(BodyAssertion {
                matches: Some("(".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            field_of(validate_spec("spec", &http("http://x", vec![bad_regex]))),
            "spec.http.assertions[0].body.matches"
        );
        let bad_path = Assertion {
            json_path: Some(JsonPathAssertion {
                path: "items[".into(),
                operator: JsonPathOperator::Exists,
                value: None,
            }),
            ..Default::default()
        };
        assert_eq!(
            field_of(validate_spec("spec", &http("http://x", vec![bad_path]))),
            "spec.http.assertions[0].jsonPath.path"
        );
    }

    #[test]
    fn scripts_need_a_safe_test_file() {
        let script = |path: &str| CaseSpec {
            script: Some(ScriptSpec {
                files: vec![ScriptFile {
                    path: path.into(),
                    content: "def test_ok(): pass".into(),
                }],
                requirements: String::new(),
                timeout_seconds: 60,
            }),
            ..CaseSpec::default()
        };
        assert_eq!(
            validate_spec("s", &script("test_a.py")).unwrap(),
            CaseKind::Script
        );
        assert_eq!(
            field_of(validate_spec("s", &script("../test_a.py"))),
            "s.script.files[0].path"
        );
        assert_eq!(
            field_of(validate_spec("s", &script("helpers.py"))),
            "s.script.files"
        );
    }
}
