//! Operations to case drafts: walks the paths in document order and builds one HTTP case
//! per operation.

use oas3::spec::{ObjectOrReference, Parameter, ParameterIn, RequestBody};
use percent_encoding::{utf8_percent_encode, AsciiSet};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::components::{reference_name, resolve, typed, Components, MAX_REF_HOPS};
use super::serialize::{header_text, is_header_name, joined, path_text, query_pairs};
use super::syntax::KeyOrder;
use super::{GeneratedCase, SkippedOperation};
use crate::cases::spec::{
    Assertion, CaseSpec, HttpMethod, HttpRequest, HttpSpec, KeyValue, StatusAssertion,
};

/// The placeholder every generated URL starts with.
const BASE_URL: &str = "{{baseUrl}}";
/// Request timeout of generated cases, in milliseconds (the spec's default).
const TIMEOUT_MS: i32 = 30_000;
/// Characters encoded in the literal parts of a path: controls, space and a few unsafe ones.
const PATH_LITERAL: &AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'#')
    .add(b'?');
/// The methods a path item may hold, in the order the OpenAPI specification lists them.
const METHOD_KEYS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn http_method(key: &str) -> Option<HttpMethod> {
    Some(match key {
        "get" => HttpMethod::Get,
        "put" => HttpMethod::Put,
        "post" => HttpMethod::Post,
        "delete" => HttpMethod::Delete,
        "options" => HttpMethod::Options,
        "head" => HttpMethod::Head,
        "patch" => HttpMethod::Patch,
        _ => return None,
    })
}

/// The parts of an operation a case needs (the rest is not read).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct OperationParts {
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    operation_id: Option<String>,
    #[serde(default)]
    parameters: Vec<ObjectOrReference<Parameter>>,
    #[serde(default)]
    pub(super) request_body: Option<ObjectOrReference<RequestBody>>,
    /// Only the status codes are needed.
    #[serde(default)]
    responses: Option<oas3::Map<String, IgnoredAny>>,
}

/// Walks the paths and builds the cases.
pub(super) struct Generator<'c> {
    pub(super) components: &'c Components,
}

impl Generator<'_> {
    pub(super) fn run(
        &self,
        paths: &Map<String, Value>,
        order: &KeyOrder,
    ) -> (Vec<GeneratedCase>, Vec<SkippedOperation>) {
        let mut cases = Vec::new();
        let mut skipped = Vec::new();
        let mut ordered: Vec<&String> = order
            .iter()
            .filter_map(|(path, _)| paths.get_key_value(path).map(|(path, _)| path))
            .collect();
        for path in paths.keys() {
            if !ordered.contains(&path) {
                ordered.push(path);
            }
        }
        // `x-…` keys of the Paths object are extensions, not paths.
        ordered.retain(|path| !path.starts_with("x-"));
        for path in ordered {
            let item = match self.path_item(&paths[path]) {
                Ok(item) => item,
                Err(reason) => {
                    skipped.push(SkippedOperation {
                        operation: path.clone(),
                        reason,
                    });
                    continue;
                }
            };
            let shared: Result<Vec<ObjectOrReference<Parameter>>, String> =
                match item.get("parameters") {
                    None | Some(Value::Null) => Ok(Vec::new()),
                    Some(parameters) => typed(parameters.clone())
                        .map_err(|error| format!("the path's parameters are invalid: {error}")),
                };
            let mut keys: Vec<&str> = order
                .iter()
                .find(|(name, _)| name == path)
                .map(|(_, keys)| keys.iter().map(String::as_str).collect())
                .unwrap_or_default();
            keys.retain(|key| METHOD_KEYS.contains(key));
            for key in METHOD_KEYS {
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
            for key in keys {
                let Some(operation) = item.get(key) else {
                    continue;
                };
                let label = format!("{} {path}", key.to_ascii_uppercase());
                let result = match (http_method(key), &shared) {
                    (None, _) => Err(format!(
                        "{} requests are not supported by HTTP cases",
                        key.to_ascii_uppercase()
                    )),
                    (Some(_), Err(reason)) => Err(reason.clone()),
                    (Some(method), Ok(shared)) => typed::<OperationParts>(operation.clone())
                        .map_err(|error| format!("the operation is invalid: {error}"))
                        .and_then(|operation| self.case(path, shared, &operation, method, &label)),
                };
                match result {
                    Ok(case) => cases.push(case),
                    Err(reason) => skipped.push(SkippedOperation {
                        operation: label,
                        reason,
                    }),
                }
            }
        }
        (cases, skipped)
    }

    /// The path item, its `$ref` (3.1: `#/components/pathItems/…`) followed.
    fn path_item<'v>(&'v self, item: &'v Value) -> Result<&'v Map<String, Value>, String> {
        let mut current = item;
        for _ in 0..MAX_REF_HOPS {
            let Value::Object(object) = current else {
                return Err("the path item is not an object".to_owned());
            };
            let Some(reference) = object.get("$ref") else {
                return Ok(object);
            };
            let reference = reference
                .as_str()
                .ok_or("the path item's $ref is not a string")?;
            let name = reference_name(reference, "pathItems").ok_or_else(|| {
                format!("$ref `{reference}` cannot be resolved (only local #/components/pathItems/… references can)")
            })?;
            current = self
                .components
                .path_items
                .get(&name)
                .ok_or_else(|| format!("$ref `{reference}` points to nothing"))?;
        }
        Err("the path item's $ref chain is too long or circular".to_owned())
    }

    fn case(
        &self,
        path: &str,
        shared: &[ObjectOrReference<Parameter>],
        operation: &OperationParts,
        method: HttpMethod,
        label: &str,
    ) -> Result<GeneratedCase, String> {
        let parameters = self.parameters(shared, operation)?;
        let url = format!("{BASE_URL}{}", self.fill_path(path, &parameters)?);

        let mut query = Vec::new();
        let mut headers = Vec::new();
        let mut cookies = Vec::new();
        for parameter in &parameters {
            if parameter.required != Some(true) {
                continue;
            }
            match parameter.location {
                ParameterIn::Path => {}
                ParameterIn::Query => {
                    let value = self.parameter_value(parameter)?;
                    query.extend(query_pairs(parameter, &value));
                }
                ParameterIn::Header => {
                    // The specification says these three are ignored when declared as parameters.
                    if ["accept", "content-type", "authorization"]
                        .contains(&parameter.name.to_ascii_lowercase().as_str())
                    {
                        continue;
                    }
                    if !is_header_name(&parameter.name) {
                        return Err(format!(
                            "header parameter `{}` is not a valid header name",
                            parameter.name
                        ));
                    }
                    let value = self.parameter_value(parameter)?;
                    headers.push(KeyValue {
                        name: parameter.name.clone(),
                        value: header_text(&joined(&value, ",", false)),
                    });
                }
                ParameterIn::Cookie => {
                    let value = self.parameter_value(parameter)?;
                    cookies.push(format!(
                        "{}={}",
                        parameter.name,
                        header_text(&joined(&value, ",", false))
                    ));
                }
            }
        }
        if !cookies.is_empty() {
            headers.push(KeyValue {
                name: "Cookie".to_owned(),
                value: cookies.join("; "),
            });
        }

        let body = self.body(operation)?;
        if let Some((_, Some(content_type))) = &body {
            headers.push(KeyValue {
                name: "Content-Type".to_owned(),
                value: content_type.clone(),
            });
        }

        let name = [&operation.summary, &operation.operation_id]
            .into_iter()
            .flatten()
            .map(|text| text.trim())
            .find(|text| !text.is_empty())
            .map_or_else(|| label.to_owned(), str::to_owned);
        let description = operation
            .description
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_owned);

        Ok(GeneratedCase {
            name,
            description,
            tags: operation.tags.clone(),
            spec: CaseSpec {
                http: Some(HttpSpec {
                    request: HttpRequest {
                        method,
                        url,
                        query,
                        headers,
                        body: body.map(|(body, _)| body),
                        timeout_ms: TIMEOUT_MS,
                        follow_redirects: true,
                    },
                    captures: Vec::new(),
                    assertions: vec![Assertion {
                        status: Some(status_assertion(operation.responses.as_ref())),
                        ..Assertion::default()
                    }],
                }),
                ..CaseSpec::default()
            },
            operation: label.to_owned(),
        })
    }

    /// The path item's parameters overridden by the operation's (same name and location).
    fn parameters<'p>(
        &'p self,
        shared: &'p [ObjectOrReference<Parameter>],
        operation: &'p OperationParts,
    ) -> Result<Vec<&'p Parameter>, String> {
        let resolve = |parameter| resolve(parameter, "parameters", &self.components.parameters);
        let own = operation
            .parameters
            .iter()
            .map(resolve)
            .collect::<Result<Vec<_>, _>>()?;
        let mut all = Vec::new();
        for parameter in shared {
            let parameter = resolve(parameter)?;
            let overridden = own
                .iter()
                .any(|other| other.name == parameter.name && other.location == parameter.location);
            if !overridden {
                all.push(parameter);
            }
        }
        all.extend(own);
        Ok(all)
    }

    /// The path with each `{name}` replaced by its parameter's example, URL-encoded.
    fn fill_path(&self, path: &str, parameters: &[&Parameter]) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = path;
        while let Some(start) = rest.find('{') {
            let Some(length) = rest[start..].find('}') else {
                break;
            };
            out.extend(utf8_percent_encode(&rest[..start], PATH_LITERAL));
            let name = &rest[start + 1..start + length];
            let parameter = parameters
                .iter()
                .find(|parameter| parameter.location == ParameterIn::Path && parameter.name == name)
                .ok_or_else(|| format!("path parameter `{name}` is not declared"))?;
            let value = self.parameter_value(parameter)?;
            out.push_str(&path_text(parameter, &value));
            rest = &rest[start + length + 1..];
        }
        out.extend(utf8_percent_encode(rest, PATH_LITERAL));
        Ok(out)
    }
}

/// The status assertion: the smallest declared 2xx code, else any 2xx.
fn status_assertion(responses: Option<&oas3::Map<String, IgnoredAny>>) -> StatusAssertion {
    let smallest = responses
        .into_iter()
        .flat_map(oas3::Map::keys)
        .filter_map(|code| code.trim().parse::<i32>().ok())
        .filter(|code| (200..300).contains(code))
        .min();
    match smallest {
        Some(code) => StatusAssertion {
            equals: Some(code),
            ..StatusAssertion::default()
        },
        None => StatusAssertion {
            min: Some(200),
            max: Some(299),
            ..StatusAssertion::default()
        },
    }
}
