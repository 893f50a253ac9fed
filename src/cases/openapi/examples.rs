//! Example values for parameters and request bodies: the document's own examples
//! first, else values sampled from the schemas.

use oas3::spec::{Example, MediaType, MediaTypeExamples, ObjectOrReference, Parameter, Schema};
use serde_json::{Map, Value};

use super::components::resolve;
use super::operations::{Generator, OperationParts};
use super::sampler::Sampler;
use super::serialize::{joined, scalar_text};
use crate::cases::spec::{HttpBody, KeyValue};

impl Generator<'_> {
    /// A parameter's example: its own, else its schema's (or content's), else one derived.
    pub(super) fn parameter_value(&self, parameter: &Parameter) -> Result<Value, String> {
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
    pub(super) fn body(
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
        Sampler::new(self.components).sample(schema, 0)
    }
}
