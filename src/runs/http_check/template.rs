//! `{{name}}` placeholders: filling them in and listing them.

use std::collections::HashMap;

use serde_json::Value;

use crate::cases::spec::HttpRequest;

/// Fills every `{{name}}` placeholder; `Err` holds the name of the first undefined variable.
///
/// A name starts with an ASCII letter or `_` and holds ASCII letters, digits, `_`,
/// `.` and `-` (the environment variable rule); spaces inside the braces are
/// ignored. Text between braces that is not a name is left as is, and filled-in
/// values are not templated again.
pub fn template(text: &str, variables: &HashMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    scan(text, |piece| {
        match piece {
            Piece::Literal(literal) => out.push_str(literal),
            Piece::Name(name) => match variables.get(name) {
                Some(value) => out.push_str(value),
                None => return Err(name.to_string()),
            },
        }
        Ok(())
    })?;
    Ok(out)
}

/// The distinct placeholder names in a text, in order of first appearance.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    collect_placeholders(text, &mut names);
    names
}

/// The distinct placeholder names in every templated part of a request.
///
/// Templated are the URL, query names and values, header names and values, JSON
/// string values (not keys) at any depth, the text body, form names and values.
pub fn request_placeholders(request: &HttpRequest) -> Vec<String> {
    let mut names = Vec::new();
    collect_placeholders(&request.url, &mut names);
    for kv in request.query.iter().chain(&request.headers) {
        collect_placeholders(&kv.name, &mut names);
        collect_placeholders(&kv.value, &mut names);
    }
    if let Some(body) = &request.body {
        if let Some(json) = &body.json {
            json_placeholders(&json.0, &mut names);
        }
        if let Some(text) = &body.text {
            collect_placeholders(text, &mut names);
        }
        for kv in body.form.iter().flatten() {
            collect_placeholders(&kv.name, &mut names);
            collect_placeholders(&kv.value, &mut names);
        }
    }
    names
}

fn collect_placeholders(text: &str, names: &mut Vec<String>) {
    let _ = scan(text, |piece| {
        if let Piece::Name(name) = piece {
            if !names.iter().any(|known| known == name) {
                names.push(name.to_string());
            }
        }
        Ok(())
    });
}

fn json_placeholders(value: &Value, names: &mut Vec<String>) {
    match value {
        Value::String(text) => collect_placeholders(text, names),
        Value::Array(items) => items.iter().for_each(|item| json_placeholders(item, names)),
        Value::Object(map) => map.values().for_each(|item| json_placeholders(item, names)),
        _ => {}
    }
}

enum Piece<'t> {
    Literal(&'t str),
    Name(&'t str),
}

/// Splits a text into literals and `{{name}}` placeholders.
fn scan<'t>(
    text: &'t str,
    mut visit: impl FnMut(Piece<'t>) -> Result<(), String>,
) -> Result<(), String> {
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let inner = after[..end].trim();
        if is_variable_name(inner) {
            visit(Piece::Literal(&rest[..start]))?;
            visit(Piece::Name(inner))?;
            rest = &after[end + 2..];
        } else {
            // Not a placeholder: keep one brace and look again from the next one.
            visit(Piece::Literal(&rest[..start + 1]))?;
            rest = &rest[start + 1..];
        }
    }
    visit(Piece::Literal(rest))
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}
