//! The document's reusable components, each typed on its own, and `$ref` resolution.

use std::collections::HashMap;

use oas3::spec::{Example, ObjectOrReference, Parameter, RequestBody, Schema};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Longest chain of `$ref`s to `$ref`s followed before giving up.
pub(super) const MAX_REF_HOPS: usize = 32;

/// Deserializes one part of the document; the error names the place inside that part.
pub(super) fn typed<T: DeserializeOwned>(value: Value) -> Result<T, String> {
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
pub(super) type Table<T> = HashMap<String, Result<T, String>>;

/// The reusable components a case may refer to.
#[derive(Default)]
pub(super) struct Components {
    pub(super) schemas: Table<Schema>,
    pub(super) parameters: Table<ObjectOrReference<Parameter>>,
    pub(super) request_bodies: Table<ObjectOrReference<RequestBody>>,
    pub(super) examples: Table<ObjectOrReference<Example>>,
    /// Kept untyped: path items are read operation by operation.
    pub(super) path_items: HashMap<String, Value>,
}

impl Components {
    pub(super) fn read(value: Option<Value>) -> Self {
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
pub(super) fn lookup<'t, T>(
    reference: &str,
    kind: &str,
    table: &'t Table<T>,
) -> Result<&'t T, String> {
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
pub(super) fn resolve<'t, T>(
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
pub(super) fn reference_name(reference: &str, kind: &str) -> Option<String> {
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
