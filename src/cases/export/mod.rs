//! Writes test cases as JSON (every field, read back by `import_json`) or as
//! CSV in the generic column set (read back by `import_csv`).

use serde::Serialize;
use serde_json::Value;

use crate::cases::import::{
    parse_pairs, split_list, Column, ImportedCase, PairStyle, GENERIC_COLUMNS, METHODS,
};
use crate::cases::spec::{
    Assertion, CaseSpec, HttpBody, HttpMethod, HttpSpec, KeyValue, KeywordsAssertion,
    StatusAssertion,
};

/// A stored case to be written out.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedCase {
    /// The case's name.
    pub name: String,
    /// Free text about the case.
    pub description: Option<String>,
    /// Labels for finding and grouping cases.
    pub tags: Vec<String>,
    /// Whether the case takes part in runs.
    pub active: bool,
    /// Ordering hint.
    pub priority: Option<i32>,
    /// What the case does.
    pub spec: CaseSpec,
}

impl From<ImportedCase> for ExportedCase {
    /// Keeps everything but the row number.
    fn from(case: ImportedCase) -> Self {
        ExportedCase {
            name: case.name,
            description: case.description,
            tags: case.tags,
            active: case.active,
            priority: case.priority,
            spec: case.spec,
        }
    }
}

/// One element of the JSON export.
#[derive(Serialize)]
struct CaseDocument<'a> {
    name: &'a str,
    description: Option<&'a str>,
    tags: &'a [String],
    active: bool,
    priority: Option<i32>,
    spec: &'a CaseSpec,
}

/// Serializes a value that cannot fail to serialize (no non-string map keys, no custom errors).
fn to_json<T: Serialize + ?Sized>(value: &T, pretty: bool) -> String {
    let written = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    written.expect("case types always serialize to JSON")
}

/// Writes the cases as a pretty-printed JSON array that `import_json` reads back unchanged.
pub fn export_json(cases: &[ExportedCase]) -> String {
    let documents: Vec<CaseDocument<'_>> = cases
        .iter()
        .map(|case| CaseDocument {
            name: &case.name,
            description: case.description.as_deref(),
            tags: &case.tags,
            active: case.active,
            priority: case.priority,
            spec: &case.spec,
        })
        .collect();
    to_json(&documents, true)
}

/// Writes the cases as CSV (CRLF line ends, no BOM) in the generic column set.
///
/// HTTP cases fill every column; a status-equals assertion that comes first and
/// a keywords assertion right after it go to `expected_status` and `keywords`,
/// the other assertions and the captures to the JSON columns `assertions` and
/// `captures`, so `import_csv` reads the same spec back. Other kinds fill only
/// `name`, `description`, `kind`, `tags`, `active` and `priority`.
pub fn export_csv(cases: &[ExportedCase]) -> String {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    // Writing to memory cannot fail, so the `expect`s below cannot fire.
    writer
        .write_record(GENERIC_COLUMNS.map(Column::header))
        .expect("writing CSV to memory");
    for case in cases {
        writer
            .write_record(csv_row(case))
            .expect("writing CSV to memory");
    }
    let bytes = writer.into_inner().expect("flushing CSV to memory");
    String::from_utf8(bytes).expect("CSV made of UTF-8 strings is UTF-8")
}

fn csv_row(case: &ExportedCase) -> Vec<String> {
    let http = case.spec.http.as_ref().map(HttpCells::new);
    GENERIC_COLUMNS
        .iter()
        .map(|column| match column {
            Column::Name => case.name.clone(),
            Column::Description => case.description.clone().unwrap_or_default(),
            Column::Kind => kind_name(&case.spec).to_owned(),
            Column::Tags => case.tags.join(", "),
            Column::Active => case.active.to_string(),
            Column::Priority => case.priority.map(|p| p.to_string()).unwrap_or_default(),
            other => http
                .as_ref()
                .map(|http| http.cell(*other))
                .unwrap_or_default(),
        })
        .collect()
}

fn kind_name(spec: &CaseSpec) -> &'static str {
    if spec.http.is_some() {
        "HTTP"
    } else if spec.perf.is_some() {
        "PERF"
    } else if spec.script.is_some() {
        "SCRIPT"
    } else if spec.ui.is_some() {
        "UI"
    } else {
        ""
    }
}

/// The request columns of an HTTP case.
struct HttpCells {
    method: &'static str,
    url: String,
    query: String,
    headers: String,
    body_type: &'static str,
    body: String,
    timeout_ms: String,
    follow_redirects: String,
    expected_status: String,
    keywords: String,
    assertions: String,
    captures: String,
}

impl HttpCells {
    fn new(spec: &HttpSpec) -> HttpCells {
        let request = &spec.request;
        let mut rest: &[Assertion] = &spec.assertions;
        let mut expected_status = String::new();
        if let Some((code, tail)) = rest
            .split_first()
            .and_then(|(first, tail)| Some((simple_status(first)?, tail)))
        {
            expected_status = code.to_string();
            rest = tail;
        }
        let mut keywords = String::new();
        if let Some((text, tail)) = rest
            .split_first()
            .and_then(|(first, tail)| Some((simple_keywords(first)?, tail)))
        {
            keywords = text;
            rest = tail;
        }
        let (body_type, body) = match &request.body {
            None => ("", String::new()),
            Some(body) => body_cells(body),
        };
        HttpCells {
            method: method_name(request.method),
            url: request.url.clone(),
            query: pairs_cell(&request.query, PairStyle::Query),
            headers: pairs_cell(&request.headers, PairStyle::Header),
            body_type,
            body,
            timeout_ms: request.timeout_ms.to_string(),
            follow_redirects: request.follow_redirects.to_string(),
            expected_status,
            keywords,
            assertions: json_list(rest),
            captures: json_list(&spec.captures),
        }
    }

    fn cell(&self, column: Column) -> String {
        match column {
            Column::Method => self.method.to_owned(),
            Column::Url => self.url.clone(),
            Column::Query => self.query.clone(),
            Column::Headers => self.headers.clone(),
            Column::BodyType => self.body_type.to_owned(),
            Column::Body => self.body.clone(),
            Column::TimeoutMs => self.timeout_ms.clone(),
            Column::FollowRedirects => self.follow_redirects.clone(),
            Column::ExpectedStatus => self.expected_status.clone(),
            Column::Keywords => self.keywords.clone(),
            Column::Assertions => self.assertions.clone(),
            Column::Captures => self.captures.clone(),
            _ => String::new(),
        }
    }
}

fn method_name(method: HttpMethod) -> &'static str {
    METHODS
        .iter()
        .find(|(known, _)| *known == method)
        .map_or("GET", |(_, name)| name)
}

/// The code of an assertion that is exactly "status equals a valid code".
fn simple_status(assertion: &Assertion) -> Option<i32> {
    let code = assertion.status.as_ref()?.equals?;
    let simple = Assertion {
        status: Some(StatusAssertion {
            equals: Some(code),
            ..StatusAssertion::default()
        }),
        ..Assertion::default()
    };
    ((100..=599).contains(&code) && *assertion == simple).then_some(code)
}

/// The cell text of a keywords-only assertion, if the cell reads back to the same keywords.
fn simple_keywords(assertion: &Assertion) -> Option<String> {
    let all = &assertion.keywords.as_ref()?.all;
    let simple = Assertion {
        keywords: Some(KeywordsAssertion { all: all.clone() }),
        ..Assertion::default()
    };
    let text = all.join(", ");
    (*assertion == simple && !all.is_empty() && split_list(&text) == *all).then_some(text)
}

fn body_cells(body: &HttpBody) -> (&'static str, String) {
    if let Some(json) = &body.json {
        ("json", json.0.to_string())
    } else if let Some(text) = &body.text {
        ("text", text.clone())
    } else if let Some(form) = &body.form {
        ("form", pairs_cell(form, PairStyle::Query))
    } else {
        ("", String::new())
    }
}

/// Name/value pairs as lines (`Name: value` or `name=value&…`), or as a JSON object when lines would not read back the same.
fn pairs_cell(pairs: &[KeyValue], style: PairStyle) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let (between, separator) = match style {
        PairStyle::Header => (": ", "\n"),
        PairStyle::Query => ("=", "&"),
    };
    let lines = pairs
        .iter()
        .map(|pair| format!("{}{between}{}", pair.name, pair.value))
        .collect::<Vec<_>>()
        .join(separator);
    if parse_pairs(&lines, style).is_ok_and(|read| read == pairs) {
        return lines;
    }
    let entries = pairs
        .iter()
        .map(|pair| {
            format!(
                "{}: {}",
                Value::String(pair.name.clone()),
                Value::String(pair.value.clone())
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!("{{{entries}}}")
}

fn json_list<T: Serialize>(items: &[T]) -> String {
    if items.is_empty() {
        String::new()
    } else {
        to_json(items, false)
    }
}

#[cfg(test)]
mod tests;
