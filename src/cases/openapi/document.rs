//! Checks on the document's top level: the OpenAPI version (with 3.0 quirks rewritten)
//! and the server URL.

use serde_json::{Map, Value};

use super::serialize::scalar_text;
use super::OpenApiError;

/// Checks `openapi`/`swagger`, and rewrites 3.0 quirks into the 3.1 form the parser reads.
pub(super) fn check_version(root: &mut Map<String, Value>) -> Result<(), OpenApiError> {
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
pub(super) fn server_url(servers: Option<&Value>) -> Option<String> {
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
