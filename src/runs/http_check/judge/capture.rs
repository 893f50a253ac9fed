//! Captures: values taken from a response for later cases.

use regex::Regex;
use serde_json::Value;

use crate::cases::spec::Capture;

use super::{compact, ResponseView};

impl ResponseView<'_> {
    /// The captured value, or `None` when the capture finds nothing (or is malformed).
    pub(super) fn capture(&self, capture: &Capture) -> Option<String> {
        match (&capture.json_path, &capture.header, &capture.regex) {
            (Some(path), None, None) => {
                let path = serde_json_path::JsonPath::parse(path).ok()?;
                let json = self.json().ok()?;
                match path.query(json).first()? {
                    Value::String(text) => Some(text.clone()),
                    other => Some(compact(other)),
                }
            }
            (None, Some(name), None) => self.header_values(name).first().map(|v| v.to_string()),
            (None, None, Some(pattern)) => {
                let re = Regex::new(pattern).ok()?;
                // Default group 1; a pattern without groups yields its whole match.
                let group = match capture.group {
                    Some(group) => usize::try_from(group).ok()?,
                    None if re.captures_len() > 1 => 1,
                    None => 0,
                };
                let found = re.captures(self.text())?;
                found.get(group).map(|m| m.as_str().to_string())
            }
            _ => None,
        }
    }
}
