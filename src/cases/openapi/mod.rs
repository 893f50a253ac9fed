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

mod components;
mod document;
mod examples;
mod operations;
mod sampler;
mod serialize;
mod syntax;

use serde_json::{Map, Value};

use crate::cases::spec::CaseSpec;
use components::Components;
use document::{check_version, server_url};
use operations::Generator;
use syntax::Format;

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

#[cfg(test)]
mod tests;
