//! Reading JSON arrays of cases as written by `export_json`.

use std::fmt;

use serde::de::{self, DeserializeSeed, SeqAccess, Visitor};
use serde_json::Value;

use super::{strip_bom, ImportError, ImportFormat, ImportOutcome, ImportedCase, RejectedRow};
use crate::cases::spec::CaseSpec;

/// Imports a JSON array of cases as written by `export_json`; each element is read on its own.
pub fn import_json(bytes: &[u8]) -> Result<ImportOutcome, ImportError> {
    let bytes = strip_bom(bytes);
    if bytes.trim_ascii().is_empty() {
        return Err(ImportError::Json(
            "the file is empty; expected a JSON array of cases".to_owned(),
        ));
    }
    let mut outcome = ImportOutcome {
        format: ImportFormat::Json,
        cases: Vec::new(),
        rejected: Vec::new(),
    };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    CaseArray {
        outcome: &mut outcome,
    }
    .deserialize(&mut deserializer)
    .and_then(|()| deserializer.end())
    .map_err(|error| ImportError::Json(error.to_string()))?;
    Ok(outcome)
}

/// Streams the top-level array, turning each element into a case or rejections.
struct CaseArray<'a> {
    outcome: &'a mut ImportOutcome,
}

impl<'de> DeserializeSeed<'de> for CaseArray<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for CaseArray<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of cases")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut row = 0;
        while let Some(element) = seq.next_element::<Value>()? {
            row += 1;
            match json_case(row, element) {
                Ok(case) => self.outcome.cases.push(case),
                Err(problems) => self.outcome.rejected.extend(problems),
            }
        }
        Ok(())
    }
}

fn json_case(row: usize, element: Value) -> Result<ImportedCase, Vec<RejectedRow>> {
    let Value::Object(mut object) = element else {
        return Err(vec![RejectedRow {
            row,
            column: None,
            reason: "expected an object describing a case".to_owned(),
        }]);
    };
    let mut field = |name: &str| object.remove(name).filter(|value| !value.is_null());
    let (name, description, tags, active, priority, spec) = (
        field("name"),
        field("description"),
        field("tags"),
        field("active"),
        field("priority"),
        field("spec"),
    );
    let mut problems = Vec::new();
    let mut problem = |column: &str, reason: String| {
        problems.push(RejectedRow {
            row,
            column: Some(column.to_owned()),
            reason,
        });
    };
    let name = match name {
        Some(Value::String(name)) if !name.trim().is_empty() => Some(name),
        Some(Value::String(_)) | None => {
            problem(
                "name",
                "is missing or empty; every case needs a name".to_owned(),
            );
            None
        }
        Some(_) => {
            problem("name", "must be a string".to_owned());
            None
        }
    };
    let description = match description {
        None => None,
        Some(Value::String(text)) => Some(text),
        Some(_) => {
            problem("description", "must be a string or null".to_owned());
            None
        }
    };
    let tags = match tags.map(serde_json::from_value::<Vec<String>>) {
        None => Vec::new(),
        Some(Ok(tags)) => tags,
        Some(Err(error)) => {
            problem("tags", format!("must be an array of strings: {error}"));
            Vec::new()
        }
    };
    let active = match active {
        None => true,
        Some(Value::Bool(active)) => active,
        Some(_) => {
            problem("active", "must be true or false".to_owned());
            true
        }
    };
    let priority = match priority.map(serde_json::from_value::<i32>) {
        None => None,
        Some(Ok(priority)) => Some(priority),
        Some(Err(error)) => {
            problem("priority", format!("must be a whole number: {error}"));
            None
        }
    };
    let spec = match spec.map(serde_json::from_value::<CaseSpec>) {
        None => {
            problem("spec", "is missing; every case needs a spec".to_owned());
            None
        }
        Some(Ok(spec)) => {
            let kinds = [
                spec.http.is_some(),
                spec.perf.is_some(),
                spec.script.is_some(),
                spec.ui.is_some(),
            ];
            if kinds.iter().filter(|set| **set).count() == 1 {
                Some(spec)
            } else {
                problem(
                    "spec",
                    "exactly one of http, perf, script, ui must be given".to_owned(),
                );
                None
            }
        }
        Some(Err(error)) => {
            problem("spec", format!("is not a valid case spec: {error}"));
            None
        }
    };
    match (name, spec) {
        (Some(name), Some(spec)) if problems.is_empty() => Ok(ImportedCase {
            row,
            name,
            description,
            tags,
            active,
            priority,
            spec,
        }),
        _ => Err(problems),
    }
}
