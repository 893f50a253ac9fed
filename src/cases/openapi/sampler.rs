//! Schema to example value: builds a value that satisfies a schema, with limits against
//! recursion and blow-up.

use oas3::spec::{ObjectOrReference, ObjectSchema, Schema, SchemaType, SchemaTypeSet};
use serde_json::{Map, Number, Value};

use super::components::{lookup, reference_name, Components};

/// Deepest schema nesting followed when building an example; deeper parts are left out.
const MAX_SCHEMA_DEPTH: usize = 16;
/// Most schema nodes visited for one example (guards against wide reference graphs).
const MAX_SCHEMA_NODES: usize = 5_000;
/// Longest example string made to satisfy a `minLength`.
const MAX_STRING_LENGTH: u64 = 1_024;
/// A fixed, well-known UUID used for `format: uuid`.
pub(super) const SAMPLE_UUID: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

/// Builds example values from schemas, with limits against recursion and blow-up.
pub(super) struct Sampler<'a> {
    components: &'a Components,
    /// Names of the component schemas being expanded (a repeat means recursion).
    stack: Vec<String>,
    nodes: usize,
}

impl<'a> Sampler<'a> {
    /// A sampler that has visited no schema yet.
    pub(super) fn new(components: &'a Components) -> Self {
        Self {
            components,
            stack: Vec::new(),
            nodes: 0,
        }
    }

    pub(super) fn sample(
        &mut self,
        schema: &'a Schema,
        depth: usize,
    ) -> Result<Option<Value>, String> {
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
