//! Generates HTTP test cases from an OpenAPI 3.0 or 3.1 document (JSON or YAML).
//!
//! Each operation (every path × method, in document order) becomes one HTTP case whose
//! request is filled with example values (from the document's examples or derived from
//! its schemas) and whose single assertion checks the operation's first 2xx status.
//!
//! The document is read part by part: the parts a case needs (operations, parameters,
//! request bodies, schemas, examples) are typed with the `oas3` crate one at a time, and
//! the parts it does not need (security schemes, links, external docs…) are not read at
//! all. So a mistake in one operation or component skips only the operations that use it
//! (listed in [`Generation::skipped`] with a reason) instead of failing the whole document.

use std::collections::HashMap;

use oas3::spec::{
    Example, MediaType, MediaTypeExamples, ObjectOrReference, ObjectSchema, Parameter, ParameterIn,
    ParameterStyle, RequestBody, Schema, SchemaType, SchemaTypeSet,
};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Deserialize;
use serde_json::{Map, Number, Value};

use crate::cases::spec::{
    Assertion, CaseSpec, HttpBody, HttpMethod, HttpRequest, HttpSpec, KeyValue, StatusAssertion,
};

/// The placeholder every generated URL starts with.
const BASE_URL: &str = "{{baseUrl}}";
/// Deepest schema nesting followed when building an example; deeper parts are left out.
const MAX_SCHEMA_DEPTH: usize = 16;
/// Most schema nodes visited for one example (guards against wide reference graphs).
const MAX_SCHEMA_NODES: usize = 5_000;
/// Longest chain of `$ref`s to `$ref`s followed before giving up.
const MAX_REF_HOPS: usize = 32;
/// Longest example string made to satisfy a `minLength`.
const MAX_STRING_LENGTH: u64 = 1_024;
/// Request timeout of generated cases, in milliseconds (the spec's default).
const TIMEOUT_MS: i32 = 30_000;
/// A fixed, well-known UUID used for `format: uuid`.
const SAMPLE_UUID: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
/// Characters left as they are in a path parameter value: RFC 3986 unreserved ones.
const PATH_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
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

/// One HTTP case generated from one operation.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedCase {
    /// The operation's summary, else its operationId, else "METHOD /path".
    pub name: String,
    /// The operation's description, if any.
    pub description: Option<String>,
    /// The operation's tags.
    pub tags: Vec<String>,
    /// The case spec (its `http` field is set).
    pub spec: CaseSpec,
    /// The operation, as "METHOD /path" (e.g. "GET /pets/{id}").
    pub operation: String,
}

/// Everything generated from one document.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// The document's `info.title`.
    pub title: String,
    /// `servers[0].url`, server variables replaced by their defaults and trailing `/` removed.
    pub base_url: Option<String>,
    /// One case per operation that could be turned into one, in document order.
    pub cases: Vec<GeneratedCase>,
    /// The operations that could not, with the reason, in document order.
    pub skipped: Vec<SkippedOperation>,
}

/// An operation that was not turned into a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedOperation {
    /// The operation, as "METHOD /path" (just the path when a whole path item was skipped).
    pub operation: String,
    /// Why it was skipped.
    pub reason: String,
}

/// Why a document could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenApiError {
    /// The document is empty.
    #[error("the document is empty")]
    Empty,
    /// The text is neither valid JSON nor valid YAML.
    #[error("the document is not valid {format}: {message}")]
    Syntax {
        /// "JSON" (the text starts with `{` or `[`) or "YAML".
        format: &'static str,
        /// The parser's message (it names the line and column when the parser knows them).
        message: String,
        /// 1-based line of the problem, when known.
        line: Option<usize>,
        /// 1-based column of the problem, when known.
        column: Option<usize>,
    },
    /// The text parsed but is not an OpenAPI document.
    #[error("the document is not an OpenAPI document: {0}")]
    NotOpenApi(String),
    /// A Swagger (OpenAPI 2) document.
    #[error(
        "Swagger {version} documents are not supported: convert the document to OpenAPI 3 first"
    )]
    Swagger {
        /// The value of its `swagger` field.
        version: String,
    },
    /// An OpenAPI version other than 3.0.x or 3.1.x.
    #[error("OpenAPI version {0} is not supported: only 3.0.x and 3.1.x documents are")]
    UnsupportedVersion(String),
    /// An OpenAPI 3 document whose top-level structure is wrong (e.g. no `info.title`).
    #[error("the OpenAPI document is invalid: {0}")]
    Invalid(String),
}

/// Generates one HTTP case per operation of an OpenAPI 3.0/3.1 document given as JSON or YAML.
pub fn generate(document: &str) -> Result<Generation, OpenApiError> {
    let document = document.strip_prefix('\u{feff}').unwrap_or(document);
    if document.trim().is_empty() {
        return Err(OpenApiError::Empty);
    }
    // JSON starts with `{"`, `{}` or `[`; YAML flow style (`{openapi: 3.1.0, …}`) is read as YAML.
    let text = document.trim_start();
    let after_brace = text.strip_prefix('{').map(str::trim_start);
    let format =
        if text.starts_with('[') || after_brace.is_some_and(|rest| rest.starts_with(['"', '}'])) {
            Format::Json
        } else {
            Format::Yaml
        };
    let value = format.parse(document)?;
    let Value::Object(mut root) = value else {
        return Err(OpenApiError::NotOpenApi(
            "its top level is not an object".to_owned(),
        ));
    };
    check_version(&mut root)?;
    let title = match root.get("info").and_then(|info| info.get("title")) {
        Some(Value::String(title)) => title.clone(),
        _ => {
            return Err(OpenApiError::Invalid(
                "`info.title` is missing or not a string".to_owned(),
            ))
        }
    };
    let base_url = server_url(root.get("servers"));
    let paths = match root.remove("paths") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(paths)) => paths,
        Some(_) => return Err(OpenApiError::Invalid("`paths` is not an object".to_owned())),
    };
    let components = Components::read(root.remove("components"));
    let generator = Generator {
        components: &components,
    };
    let (cases, skipped) = generator.run(&paths, &format.key_order(document));
    Ok(Generation {
        title,
        base_url,
        cases,
        skipped,
    })
}

/// The syntax a document was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
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
type KeyOrder = Vec<(String, Vec<String>)>;

impl Format {
    /// Parses the text into a JSON value.
    fn parse(self, document: &str) -> Result<Value, OpenApiError> {
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
    fn key_order(self, document: &str) -> KeyOrder {
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

/// Checks `openapi`/`swagger`, and rewrites 3.0 quirks into the 3.1 form the parser reads.
fn check_version(root: &mut Map<String, Value>) -> Result<(), OpenApiError> {
    if let Some(version) = root.get("swagger") {
        return Err(OpenApiError::Swagger {
            version: scalar_text(version),
        });
    }
    let version = match root.get("openapi") {
        None => {
            return Err(OpenApiError::NotOpenApi(
                "it has no `openapi` version field".to_owned(),
            ))
        }
        Some(Value::String(version)) => version.trim().to_owned(),
        // YAML reads an unquoted `openapi: 3.0` as a number.
        Some(Value::Number(number)) => number.to_string(),
        Some(_) => {
            return Err(OpenApiError::NotOpenApi(
                "its `openapi` field is not a version string".to_owned(),
            ))
        }
    };
    let mut parts = version.split(['.', '-', '+']);
    match (parts.next(), parts.next()) {
        (Some("3"), Some("0")) => {
            for part in ["paths", "components"] {
                if let Some(value) = root.get_mut(part) {
                    normalize_openapi_30(value);
                }
            }
            Ok(())
        }
        (Some("3"), Some("1")) => Ok(()),
        _ => Err(OpenApiError::UnsupportedVersion(version)),
    }
}

/// Rewrites the OpenAPI 3.0 schema keywords that 3.1 (and so the parser) spells differently:
/// boolean `exclusiveMinimum`/`exclusiveMaximum` become the numeric 3.1 form.
fn normalize_openapi_30(value: &mut Value) {
    match value {
        Value::Object(object) => {
            for (exclusive, bound) in [
                ("exclusiveMinimum", "minimum"),
                ("exclusiveMaximum", "maximum"),
            ] {
                if let Some(Value::Bool(flag)) = object.get(exclusive) {
                    let flag = *flag;
                    object.remove(exclusive);
                    if flag {
                        if let Some(limit) = object.remove(bound) {
                            object.insert(exclusive.to_owned(), limit);
                        }
                    }
                }
            }
            object.values_mut().for_each(normalize_openapi_30);
        }
        Value::Array(items) => items.iter_mut().for_each(normalize_openapi_30),
        _ => {}
    }
}

/// `servers[0].url` with its variables' defaults filled in and trailing slashes removed.
fn server_url(servers: Option<&Value>) -> Option<String> {
    let server = servers?.as_array()?.first()?;
    let mut url = server.get("url")?.as_str()?.trim().to_owned();
    if let Some(Value::Object(variables)) = server.get("variables") {
        for (name, variable) in variables {
            if let Some(default) = variable.get("default") {
                url = url.replace(&format!("{{{name}}}"), &scalar_text(default));
            }
        }
    }
    let url = url.trim_end_matches('/');
    (!url.is_empty()).then(|| url.to_owned())
}

/// A scalar as text: strings as they are, other values as compact JSON, null as "".
fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Deserializes one part of the document; the error names the place inside that part.
fn typed<T: DeserializeOwned>(value: Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        if path == "." {
            error.inner().to_string()
        } else {
            format!("{} (at `{path}`)", error.inner())
        }
    })
}

/// A components table: each entry typed on its own, so one bad entry spoils only itself.
type Table<T> = HashMap<String, Result<T, String>>;

/// The reusable components a case may refer to.
#[derive(Default)]
struct Components {
    schemas: Table<Schema>,
    parameters: Table<ObjectOrReference<Parameter>>,
    request_bodies: Table<ObjectOrReference<RequestBody>>,
    examples: Table<ObjectOrReference<Example>>,
    /// Kept untyped: path items are read operation by operation.
    path_items: HashMap<String, Value>,
}

impl Components {
    fn read(value: Option<Value>) -> Self {
        let Some(Value::Object(mut components)) = value else {
            return Self::default();
        };
        Self {
            schemas: table(components.remove("schemas")),
            parameters: table(components.remove("parameters")),
            request_bodies: table(components.remove("requestBodies")),
            examples: table(components.remove("examples")),
            path_items: match components.remove("pathItems") {
                Some(Value::Object(items)) => items.into_iter().collect(),
                _ => HashMap::new(),
            },
        }
    }
}

fn table<T: DeserializeOwned>(value: Option<Value>) -> Table<T> {
    let Some(Value::Object(entries)) = value else {
        return HashMap::new();
    };
    entries
        .into_iter()
        .map(|(name, value)| (name, typed(value)))
        .collect()
}

/// Looks a local `#/components/{kind}/{name}` reference up, one hop.
fn lookup<'t, T>(reference: &str, kind: &str, table: &'t Table<T>) -> Result<&'t T, String> {
    let name = reference_name(reference, kind).ok_or_else(|| {
        format!("$ref `{reference}` cannot be resolved (only local #/components/{kind}/… references can)")
    })?;
    match table.get(&name) {
        None => Err(format!("$ref `{reference}` points to nothing")),
        Some(Err(error)) => Err(format!(
            "$ref `{reference}` points to an invalid component: {error}"
        )),
        Some(Ok(item)) => Ok(item),
    }
}

/// Follows references (and references to references) to an object.
fn resolve<'t, T>(
    item: &'t ObjectOrReference<T>,
    kind: &str,
    table: &'t Table<ObjectOrReference<T>>,
) -> Result<&'t T, String> {
    let mut current = item;
    for _ in 0..MAX_REF_HOPS {
        match current {
            ObjectOrReference::Object(object) => return Ok(object),
            ObjectOrReference::Ref { ref_path, .. } => current = lookup(ref_path, kind, table)?,
        }
    }
    Err(format!(
        "a $ref chain in #/components/{kind} is too long or circular"
    ))
}

/// The component name in `#/components/{kind}/{name}` (JSON-pointer and percent decoded).
fn reference_name(reference: &str, kind: &str) -> Option<String> {
    let name = reference
        .strip_prefix("#/components/")?
        .strip_prefix(kind)?
        .strip_prefix('/')?;
    if name.is_empty() || name.contains('/') {
        return None;
    }
    let name = percent_encoding::percent_decode_str(name)
        .decode_utf8()
        .ok()?;
    Some(name.replace("~1", "/").replace("~0", "~"))
}

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
struct OperationParts {
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
    request_body: Option<ObjectOrReference<RequestBody>>,
    /// Only the status codes are needed.
    #[serde(default)]
    responses: Option<oas3::Map<String, IgnoredAny>>,
}

/// Walks the paths and builds the cases.
struct Generator<'c> {
    components: &'c Components,
}

impl Generator<'_> {
    fn run(
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

    /// A parameter's example: its own, else its schema's (or content's), else one derived.
    fn parameter_value(&self, parameter: &Parameter) -> Result<Value, String> {
        if let Some(example) = &parameter.example {
            return Ok(example.clone());
        }
        if let Some(example) = self.first_example(&parameter.examples) {
            return Ok(example);
        }
        if let Some(schema) = &parameter.schema {
            return Ok(self.sample(schema)?.unwrap_or(Value::Null));
        }
        if let Some((_, media)) = parameter.content.iter().flatten().next() {
            // A parameter with `content` is serialized with that media type (JSON in practice).
            let value = self.media_value(media)?;
            return Ok(Value::String(value.to_string()));
        }
        Ok(Value::String("string".to_owned()))
    }

    /// The value of the first example that resolves and has one.
    fn first_example(
        &self,
        examples: &oas3::Map<String, ObjectOrReference<Example>>,
    ) -> Option<Value> {
        examples.values().find_map(|example| {
            resolve(example, "examples", &self.components.examples)
                .ok()
                .and_then(|example| example.value.clone())
        })
    }

    /// A media type's example, else one built from its schema, else `{}`.
    fn media_value(&self, media: &MediaType) -> Result<Value, String> {
        match &media.examples {
            Some(MediaTypeExamples::Example { example }) => return Ok(example.clone()),
            Some(MediaTypeExamples::Examples { examples }) => {
                if let Some(example) = self.first_example(examples) {
                    return Ok(example);
                }
            }
            None => {}
        }
        match &media.schema {
            Some(schema) => Ok(self.sample(schema)?.unwrap_or(Value::Null)),
            None => Ok(Value::Object(Map::new())),
        }
    }

    /// The request body, and the Content-Type to send when the body kind does not imply it.
    fn body(
        &self,
        operation: &OperationParts,
    ) -> Result<Option<(HttpBody, Option<String>)>, String> {
        let Some(body) = &operation.request_body else {
            return Ok(None);
        };
        let body = resolve(body, "requestBodies", &self.components.request_bodies)?;
        let required = body.required == Some(true);
        let essence = |media_type: &str| {
            media_type
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        };
        let content = || {
            body.content
                .iter()
                .map(move |(name, media)| (essence(name), name, media))
        };

        if let Some((essence, name, media)) = content()
            .find(|(essence, _, _)| essence == "application/json" || essence.ends_with("+json"))
        {
            let json = self.media_value(media)?;
            let content_type = (essence != "application/json").then(|| name.clone());
            let body = HttpBody {
                json: Some(async_graphql::Json(json)),
                ..HttpBody::default()
            };
            return Ok(Some((body, content_type)));
        }
        if let Some((_, _, media)) =
            content().find(|(essence, _, _)| essence == "application/x-www-form-urlencoded")
        {
            let fields: Vec<KeyValue> = match self.media_value(media)? {
                Value::Object(fields) => fields
                    .iter()
                    .map(|(name, value)| KeyValue {
                        name: name.clone(),
                        value: joined(value, ",", false),
                    })
                    .collect(),
                _ => Vec::new(),
            };
            // An optional form with nothing in it is better not sent at all.
            if fields.is_empty() && !required {
                return Ok(None);
            }
            let body = HttpBody {
                form: Some(fields),
                ..HttpBody::default()
            };
            return Ok(Some((body, None)));
        }
        // Text, and any other single-part media type whose example is a string, is sent as text.
        for (essence, name, media) in content() {
            if essence.starts_with("multipart/") {
                continue;
            }
            let value = self.media_value(media)?;
            if essence.starts_with("text/") || value.is_string() {
                let body = HttpBody {
                    text: Some(scalar_text(&value)),
                    ..HttpBody::default()
                };
                return Ok(Some((body, Some(name.clone()))));
            }
        }
        match body.content.keys().next() {
            Some(name) if required => Err(format!(
                "its request body's media type {name} is not supported (only JSON, form, text and string bodies are)"
            )),
            _ => Ok(None),
        }
    }

    /// An example value built from a schema (`None` when cut short by recursion or limits).
    fn sample(&self, schema: &Schema) -> Result<Option<Value>, String> {
        Sampler {
            components: self.components,
            stack: Vec::new(),
            nodes: 0,
        }
        .sample(schema, 0)
    }
}

/// Builds example values from schemas, with limits against recursion and blow-up.
struct Sampler<'a> {
    components: &'a Components,
    /// Names of the component schemas being expanded (a repeat means recursion).
    stack: Vec<String>,
    nodes: usize,
}

impl<'a> Sampler<'a> {
    fn sample(&mut self, schema: &'a Schema, depth: usize) -> Result<Option<Value>, String> {
        self.nodes += 1;
        if depth > MAX_SCHEMA_DEPTH || self.nodes > MAX_SCHEMA_NODES {
            return Ok(None);
        }
        match schema {
            Schema::Boolean(schema) => Ok(schema.0.then_some(Value::Null)),
            Schema::Object(object) => match object.as_ref() {
                ObjectOrReference::Object(object) => self.sample_object(object, depth),
                ObjectOrReference::Ref { ref_path, .. } => {
                    let target = lookup(ref_path, "schemas", &self.components.schemas)?;
                    let name = reference_name(ref_path, "schemas").unwrap_or_default();
                    if self.stack.contains(&name) {
                        return Ok(None);
                    }
                    self.stack.push(name);
                    let value = self.sample(target, depth + 1);
                    self.stack.pop();
                    value
                }
            },
        }
    }

    fn sample_object(
        &mut self,
        schema: &'a ObjectSchema,
        depth: usize,
    ) -> Result<Option<Value>, String> {
        let given = schema
            .const_value
            .as_ref()
            .or(schema.example.as_ref())
            .or(schema.examples.first())
            .or(schema.default.as_ref())
            .or(schema.enum_values.first());
        if let Some(value) = given {
            return Ok(Some(value.clone()));
        }

        let mut parts = Vec::new();
        for part in &schema.all_of {
            parts.extend(self.sample(part, depth + 1)?);
        }
        for choices in [&schema.one_of, &schema.any_of] {
            for choice in choices {
                if let Some(value) = self.sample(choice, depth + 1)? {
                    parts.push(value);
                    break;
                }
            }
        }
        let kind = schema_kind(schema);
        if kind.is_some() || parts.is_empty() {
            parts.insert(0, self.sample_kind(schema, kind, depth)?);
        }

        if parts.iter().any(Value::is_object) {
            let mut merged = Map::new();
            for part in parts {
                if let Value::Object(fields) = part {
                    merged.extend(fields);
                }
            }
            return Ok(Some(Value::Object(merged)));
        }
        Ok(parts.into_iter().next())
    }

    fn sample_kind(
        &mut self,
        schema: &'a ObjectSchema,
        kind: Option<SchemaType>,
        depth: usize,
    ) -> Result<Value, String> {
        Ok(match kind {
            None | Some(SchemaType::Null) => Value::Null,
            Some(SchemaType::Boolean) => Value::Bool(true),
            Some(SchemaType::String) => Value::String(sample_string(schema)),
            Some(SchemaType::Integer) => Value::from(sample_integer(schema)),
            Some(SchemaType::Number) => {
                Number::from_f64(sample_number(schema)).map_or(Value::Null, Value::Number)
            }
            Some(SchemaType::Array) => {
                let mut items = Vec::new();
                if schema.prefix_items.is_empty() {
                    if let Some(item) = &schema.items {
                        items.extend(self.sample(item, depth + 1)?);
                    }
                } else {
                    for item in &schema.prefix_items {
                        items.extend(self.sample(item, depth + 1)?);
                    }
                }
                Value::Array(items)
            }
            Some(SchemaType::Object) => {
                let mut fields = Map::new();
                for (name, property) in &schema.properties {
                    if self.is_read_only(property) {
                        continue;
                    }
                    if let Some(value) = self.sample(property, depth + 1)? {
                        fields.insert(name.clone(), value);
                    }
                }
                if schema.properties.is_empty() {
                    if let Some(extra) = &schema.additional_properties {
                        if let Some(value) = self.sample(extra, depth + 1)? {
                            fields.insert("additionalProp1".to_owned(), value);
                        }
                    }
                }
                Value::Object(fields)
            }
        })
    }

    /// Whether a property is `readOnly` (such properties are not sent in requests).
    fn is_read_only(&self, schema: &'a Schema) -> bool {
        let object = match schema {
            Schema::Boolean(_) => return false,
            Schema::Object(object) => object.as_ref(),
        };
        match object {
            ObjectOrReference::Object(object) => object.read_only == Some(true),
            ObjectOrReference::Ref { ref_path, .. } => {
                match lookup(ref_path, "schemas", &self.components.schemas) {
                    Ok(Schema::Object(target)) => matches!(
                        target.as_ref(),
                        ObjectOrReference::Object(object) if object.read_only == Some(true)
                    ),
                    _ => false,
                }
            }
        }
    }
}

/// The schema's type: the declared one (first non-null of a list), else one guessed from its keywords.
fn schema_kind(schema: &ObjectSchema) -> Option<SchemaType> {
    match &schema.schema_type {
        Some(SchemaTypeSet::Single(kind)) => return Some(*kind),
        Some(SchemaTypeSet::Multiple(kinds)) => {
            return kinds
                .iter()
                .copied()
                .find(|kind| *kind != SchemaType::Null)
                .or(kinds.first().copied());
        }
        None => {}
    }
    if !schema.properties.is_empty() || schema.additional_properties.is_some() {
        Some(SchemaType::Object)
    } else if schema.items.is_some() || !schema.prefix_items.is_empty() {
        Some(SchemaType::Array)
    } else if schema.format.is_some()
        || schema.pattern.is_some()
        || schema.min_length.is_some()
        || schema.max_length.is_some()
    {
        Some(SchemaType::String)
    } else if schema.minimum.is_some() || schema.maximum.is_some() {
        Some(SchemaType::Number)
    } else {
        None
    }
}

fn sample_string(schema: &ObjectSchema) -> String {
    let fixed = match schema.format.as_deref().unwrap_or_default() {
        "date-time" => Some("2024-01-01T00:00:00Z"),
        "date" => Some("2024-01-01"),
        "time" => Some("12:00:00Z"),
        "duration" => Some("P1D"),
        "email" | "idn-email" => Some("user@example.com"),
        "uuid" => Some(SAMPLE_UUID),
        "uri" | "url" | "iri" | "uri-reference" | "iri-reference" => Some("https://example.com"),
        "hostname" | "idn-hostname" => Some("example.com"),
        "ipv4" => Some("192.0.2.1"),
        "ipv6" => Some("2001:db8::1"),
        "byte" => Some("c3RyaW5n"),
        _ => None,
    };
    if let Some(fixed) = fixed {
        return fixed.to_owned();
    }
    let base = "string";
    let min = schema.min_length.unwrap_or(0).min(MAX_STRING_LENGTH) as usize;
    let max = schema.max_length.map_or(usize::MAX, |max| max as usize);
    let length = base.len().max(min).min(max.max(min));
    base.chars().cycle().take(length).collect()
}

fn number_bound(number: Option<&Number>) -> Option<f64> {
    number.and_then(Number::as_f64)
}

fn sample_integer(schema: &ObjectSchema) -> i64 {
    let mut value: i64 = 1;
    if let Some(min) = number_bound(schema.minimum.as_ref()) {
        if (value as f64) < min {
            value = min.ceil() as i64;
        }
    }
    if let Some(min) = number_bound(schema.exclusive_minimum.as_ref()) {
        if (value as f64) <= min {
            value = min.floor() as i64 + 1;
        }
    }
    if let Some(max) = number_bound(schema.maximum.as_ref()) {
        if (value as f64) > max {
            value = max.floor() as i64;
        }
    }
    if let Some(max) = number_bound(schema.exclusive_maximum.as_ref()) {
        if (value as f64) >= max {
            value = max.ceil() as i64 - 1;
        }
    }
    value
}

fn sample_number(schema: &ObjectSchema) -> f64 {
    let mut value = 1.5;
    if let Some(min) = number_bound(schema.minimum.as_ref()) {
        if value < min {
            value = min;
        }
    }
    if let Some(min) = number_bound(schema.exclusive_minimum.as_ref()) {
        if value <= min {
            value = min + 1.0;
        }
    }
    if let Some(max) = number_bound(schema.maximum.as_ref()) {
        if value > max {
            value = max;
        }
    }
    if let Some(max) = number_bound(schema.exclusive_maximum.as_ref()) {
        if value >= max {
            value = max - 1.0;
        }
    }
    value
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

/// A value as one string: arrays joined by `separator`, objects as `k,v` pairs (or `k=v` when exploded).
fn joined(value: &Value, separator: &str, explode: bool) -> String {
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
fn path_text(parameter: &Parameter, value: &Value) -> String {
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
fn query_pairs(parameter: &Parameter, value: &Value) -> Vec<KeyValue> {
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
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A header value with line breaks (which headers cannot hold) turned into spaces.
fn header_text(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests;
