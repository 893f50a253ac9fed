//! Reads test cases from CSV, Excel (.xlsx) and JSON files.
//!
//! CSV and Excel files hold one case per row under a header row, in one of two
//! column sets, told apart by the header (names are matched case-insensitively
//! and trimmed; spaces and `-` count as `_`; columns of neither set are ignored):
//!
//! * the legacy question set: `question` (required), `expected_keywords`,
//!   `is_active`. Each row becomes an HTTP case that POSTs
//!   `{"question": …}` to [`ImportDefaults::endpoint_url`] and expects a 2xx
//!   status and the keywords.
//! * the generic set: `name` and `url` (required), `method`, `headers`, `body`,
//!   `expected_status`, `keywords`, `tags`, `description`, `active`,
//!   `priority`, and the columns [`export_csv`](crate::export::export_csv)
//!   adds so that a whole HTTP case survives a round trip: `kind`, `query`,
//!   `body_type`, `timeout_ms`, `follow_redirects`, `assertions`, `captures`.
//!
//! A problem with one row (a missing name, a bad method, …) rejects that row
//! only, naming the row and the column; a problem with the whole file (not a
//! workbook, no header, a header of neither set, …) is an [`ImportError`].
//! Rows whose cells are all empty are skipped. Row numbers are those a
//! spreadsheet shows: the header is row 1 when it is the first line.
//!
//! JSON files are what [`export_json`](crate::export::export_json) writes: an
//! array of case objects; there a "row" is the 1-based position in the array.

use std::borrow::Cow;
use std::fmt;
use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use crate::cases::spec::{
    Assertion, Capture, CaseSpec, HttpBody, HttpMethod, HttpRequest, HttpSpec, KeyValue,
    KeywordsAssertion, StatusAssertion,
};

/// Longest case name the question format makes; longer questions are cut.
pub const MAX_QUESTION_NAME_CHARS: usize = 200;

/// Values a file does not give, supplied by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportDefaults {
    /// URL the legacy question rows are sent to, e.g. `{{baseUrl}}/query`.
    pub endpoint_url: String,
}

/// A case read from one row (or one JSON array element).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedCase {
    /// Row number as a spreadsheet shows it (header = row 1); for JSON, the 1-based array position.
    pub row: usize,
    /// The case's name.
    pub name: String,
    /// Free text about the case.
    pub description: Option<String>,
    /// Labels for finding and grouping cases.
    pub tags: Vec<String>,
    /// Whether the case takes part in runs.
    pub active: bool,
    /// Ordering hint, if the file gave one.
    pub priority: Option<i32>,
    /// What the case does.
    pub spec: CaseSpec,
}

/// A row that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRow {
    /// Row number, counted as for [`ImportedCase::row`].
    pub row: usize,
    /// The column at fault by its lower-case name (`expected_status`), or the JSON field; `None` for the whole row.
    pub column: Option<String>,
    /// What is wrong, for a person to read.
    pub reason: String,
}

/// What an import found: the cases to store and the rows left out (one entry per problem).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportOutcome {
    /// The column set or file kind that was read.
    pub format: ImportFormat,
    /// The cases read, in file order.
    pub cases: Vec<ImportedCase>,
    /// Problems of single rows, in file order; a row with several problems appears once per problem.
    pub rejected: Vec<RejectedRow>,
}

/// Which kind of file an import read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    /// CSV or Excel with the legacy `question` columns.
    Question,
    /// CSV or Excel with the generic `name`/`url`/… columns.
    Generic,
    /// A JSON array as written by `export_json`.
    Json,
}

/// A problem with a whole file; nothing was imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The CSV text could not be read.
    #[error("the CSV file could not be read: {0}")]
    Csv(String),
    /// A CSV row is not UTF-8 text.
    #[error("row {row} of the CSV file is not UTF-8 text; save the file as UTF-8 (in Excel: \"CSV UTF-8\")")]
    NotUtf8 {
        /// The row with the bad bytes.
        row: usize,
    },
    /// The bytes are not an Excel .xlsx workbook.
    #[error("the file is not a readable Excel .xlsx workbook: {0}")]
    Xlsx(String),
    /// The workbook has no worksheet.
    #[error("the workbook has no worksheet")]
    EmptyWorkbook,
    /// The file (or the first worksheet) has no non-empty row to take as the header.
    #[error("the file has no header row: it (or its first worksheet) has no non-empty row")]
    NoHeader,
    /// The header row matches neither column set.
    #[error(
        "the header row ({}) matches no known column set: expected either a `question` column \
         (with optional `expected_keywords`, `is_active`) or `name` and `url` columns (with \
         optional `method`, `headers`, `body`, `expected_status`, `keywords`, `tags`, \
         `description`, `active`, `priority`)",
        found_list(.found)
    )]
    UnknownColumns {
        /// The header cells that were found.
        found: Vec<String>,
    },
    /// A known column appears twice in the header row.
    #[error("the column `{column}` appears more than once in the header row")]
    DuplicateColumn {
        /// The repeated column.
        column: String,
    },
    /// The JSON document could not be read as an array of cases.
    #[error("the JSON file could not be read: {0}")]
    Json(String),
    /// The file's extension names a format that is not supported.
    #[error("`{file_name}` is not a supported file: use .csv, .xlsx or .json")]
    UnsupportedFile {
        /// The file name given.
        file_name: String,
    },
}

fn found_list(found: &[String]) -> String {
    if found.is_empty() {
        return "no named columns".to_owned();
    }
    found
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Imports a file, choosing the reader by extension (`.csv`, `.tsv`, `.xlsx`, `.xlsm`, `.json`), else by content.
pub fn import_file(
    file_name: &str,
    bytes: &[u8],
    defaults: &ImportDefaults,
) -> Result<ImportOutcome, ImportError> {
    let extension = file_name
        .rsplit_once('.')
        .map(|(_, extension)| extension.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "csv" | "tsv" => import_csv(bytes, defaults),
        "xlsx" | "xlsm" => import_xlsx(bytes, defaults),
        "json" => import_json(bytes),
        "xls" | "xlsb" | "ods" | "numbers" => Err(ImportError::UnsupportedFile {
            file_name: file_name.to_owned(),
        }),
        _ => {
            let text = strip_bom(bytes).trim_ascii_start();
            if bytes.starts_with(b"PK\x03\x04") {
                import_xlsx(bytes, defaults)
            } else if text.starts_with(b"[") || text.starts_with(b"{") {
                import_json(bytes)
            } else {
                import_csv(bytes, defaults)
            }
        }
    }
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

// ---------------------------------------------------------------------------
// Columns and the header row
// ---------------------------------------------------------------------------

/// The columns either set knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Column {
    Question,
    ExpectedKeywords,
    IsActive,
    Name,
    Description,
    Kind,
    Method,
    Url,
    Query,
    Headers,
    BodyType,
    Body,
    TimeoutMs,
    FollowRedirects,
    ExpectedStatus,
    Keywords,
    Assertions,
    Captures,
    Tags,
    Active,
    Priority,
}

const COLUMN_COUNT: usize = 21;
const _: () = assert!(Column::Priority as usize + 1 == COLUMN_COUNT);

const QUESTION_COLUMNS: [Column; 3] =
    [Column::Question, Column::ExpectedKeywords, Column::IsActive];

/// The generic column set, in the order `export_csv` writes it.
pub(crate) const GENERIC_COLUMNS: [Column; 18] = [
    Column::Name,
    Column::Description,
    Column::Kind,
    Column::Method,
    Column::Url,
    Column::Query,
    Column::Headers,
    Column::BodyType,
    Column::Body,
    Column::TimeoutMs,
    Column::FollowRedirects,
    Column::ExpectedStatus,
    Column::Keywords,
    Column::Assertions,
    Column::Captures,
    Column::Tags,
    Column::Active,
    Column::Priority,
];

impl Column {
    /// The header name.
    pub(crate) fn header(self) -> &'static str {
        match self {
            Column::Question => "question",
            Column::ExpectedKeywords => "expected_keywords",
            Column::IsActive => "is_active",
            Column::Name => "name",
            Column::Description => "description",
            Column::Kind => "kind",
            Column::Method => "method",
            Column::Url => "url",
            Column::Query => "query",
            Column::Headers => "headers",
            Column::BodyType => "body_type",
            Column::Body => "body",
            Column::TimeoutMs => "timeout_ms",
            Column::FollowRedirects => "follow_redirects",
            Column::ExpectedStatus => "expected_status",
            Column::Keywords => "keywords",
            Column::Assertions => "assertions",
            Column::Captures => "captures",
            Column::Tags => "tags",
            Column::Active => "active",
            Column::Priority => "priority",
        }
    }
}

/// Which column set a header row uses, and where each of its columns is.
struct Layout {
    format: ImportFormat,
    index: [Option<usize>; COLUMN_COUNT],
}

impl Layout {
    fn detect<'a>(header: impl Iterator<Item = &'a str>) -> Result<Layout, ImportError> {
        let header: Vec<&str> = header.collect();
        let normalized: Vec<String> = header.iter().map(|cell| normalize(cell)).collect();
        let position = |column: Column| {
            let mut found = normalized
                .iter()
                .enumerate()
                .filter(|(_, name)| name.as_str() == column.header())
                .map(|(index, _)| index);
            (found.next(), found.next().is_some())
        };
        let has = |column: Column| position(column).0.is_some();
        let (format, columns): (ImportFormat, &[Column]) = if has(Column::Name) && has(Column::Url)
        {
            (ImportFormat::Generic, &GENERIC_COLUMNS)
        } else if has(Column::Question) {
            (ImportFormat::Question, &QUESTION_COLUMNS)
        } else {
            return Err(ImportError::UnknownColumns {
                found: header
                    .iter()
                    .map(|cell| cell.trim().trim_start_matches('\u{feff}').to_owned())
                    .filter(|cell| !cell.is_empty())
                    .collect(),
            });
        };
        let mut index = [None; COLUMN_COUNT];
        for &column in columns {
            let (first, repeated) = position(column);
            if repeated {
                return Err(ImportError::DuplicateColumn {
                    column: column.header().to_owned(),
                });
            }
            index[column as usize] = first;
        }
        Ok(Layout { format, index })
    }

    fn get(&self, column: Column) -> Option<usize> {
        self.index[column as usize]
    }
}

fn normalize(header: &str) -> String {
    header
        .trim()
        .trim_start_matches('\u{feff}')
        .trim()
        .to_lowercase()
        .replace([' ', '-'], "_")
}

// ---------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------

/// The cells of one row, whatever file they came from.
trait Cells {
    /// The text of cell `index` (empty past the row's end), or why it has none.
    fn text(&self, index: usize) -> Result<&str, String>;
    /// Whether every cell is empty or blank.
    fn is_blank(&self) -> bool;
}

impl Cells for csv::StringRecord {
    fn text(&self, index: usize) -> Result<&str, String> {
        Ok(self.get(index).unwrap_or(""))
    }

    fn is_blank(&self) -> bool {
        self.iter().all(|cell| cell.trim().is_empty())
    }
}

/// A spreadsheet cell as text, or the error value it holds.
enum SheetCell<'a> {
    Text(Cow<'a, str>),
    Error(String),
}

impl Cells for Vec<SheetCell<'_>> {
    fn text(&self, index: usize) -> Result<&str, String> {
        match self.get(index) {
            None => Ok(""),
            Some(SheetCell::Text(text)) => Ok(text),
            Some(SheetCell::Error(error)) => {
                Err(format!("the cell holds the spreadsheet error {error}"))
            }
        }
    }

    fn is_blank(&self) -> bool {
        self.iter()
            .all(|cell| matches!(cell, SheetCell::Text(text) if text.trim().is_empty()))
    }
}

fn sheet_cell(data: &Data) -> SheetCell<'_> {
    match data {
        Data::Empty => SheetCell::Text(Cow::Borrowed("")),
        Data::String(text) => SheetCell::Text(Cow::Borrowed(text)),
        Data::Error(error) => SheetCell::Error(error.to_string()),
        // Numbers print without a trailing `.0` (200.0 → "200"), booleans as true/false.
        other => SheetCell::Text(Cow::Owned(other.to_string())),
    }
}

/// Reads the cells of one row, collecting its problems.
struct RowReader<'c, C> {
    layout: &'c Layout,
    cells: &'c C,
    row: usize,
    problems: Vec<RejectedRow>,
}

impl<'c, C: Cells> RowReader<'c, C> {
    fn problem(&mut self, column: Column, reason: impl Into<String>) {
        self.problems.push(RejectedRow {
            row: self.row,
            column: Some(column.header().to_owned()),
            reason: reason.into(),
        });
    }

    /// The cell as written; `None` when the column is absent or the cell holds an error.
    fn raw(&mut self, column: Column) -> Option<&'c str> {
        let index = self.layout.get(column)?;
        match self.cells.text(index) {
            Ok(text) => Some(text),
            Err(reason) => {
                self.problem(column, reason);
                None
            }
        }
    }

    /// The trimmed cell, `None` when absent or empty.
    fn text(&mut self, column: Column) -> Option<&'c str> {
        self.raw(column)
            .map(str::trim)
            .filter(|text| !text.is_empty())
    }

    /// The trimmed cell, which must not be empty.
    fn required(&mut self, column: Column, what: &str) -> Option<&'c str> {
        let index_ok = self
            .layout
            .get(column)
            .map(|index| self.cells.text(index).is_ok())
            .unwrap_or(true);
        let text = self.text(column);
        if text.is_none() && index_ok {
            self.problem(column, format!("is empty; every row needs {what}"));
        }
        text
    }

    /// A parsed cell; `None` when empty, and a problem when it does not parse.
    fn parsed<T>(
        &mut self,
        column: Column,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let text = self.text(column)?;
        match parse(text) {
            Ok(value) => Some(value),
            Err(reason) => {
                self.problem(column, reason);
                None
            }
        }
    }

    fn finish(self, case: Option<ImportedCase>) -> Result<ImportedCase, Vec<RejectedRow>> {
        match case {
            Some(case) if self.problems.is_empty() => Ok(case),
            _ => Err(self.problems),
        }
    }
}

/// Adds one data row to `outcome`, unless it is blank.
fn import_row<C: Cells>(
    layout: &Layout,
    defaults: &ImportDefaults,
    row: usize,
    cells: &C,
    outcome: &mut ImportOutcome,
) {
    if cells.is_blank() {
        return;
    }
    let reader = RowReader {
        layout,
        cells,
        row,
        problems: Vec::new(),
    };
    let result = match layout.format {
        ImportFormat::Question => question_case(reader, defaults),
        _ => generic_case(reader),
    };
    match result {
        Ok(case) => outcome.cases.push(case),
        Err(problems) => outcome.rejected.extend(problems),
    }
}

fn question_case<C: Cells>(
    mut r: RowReader<'_, C>,
    defaults: &ImportDefaults,
) -> Result<ImportedCase, Vec<RejectedRow>> {
    let question = r.required(Column::Question, "a question");
    let keywords = r.text(Column::ExpectedKeywords).map(split_list);
    let active = r.parsed(Column::IsActive, parse_bool).unwrap_or(true);
    let case = question.map(|question| {
        let name: String = question.chars().take(MAX_QUESTION_NAME_CHARS).collect();
        let mut assertions = vec![Assertion {
            status: Some(StatusAssertion {
                min: Some(200),
                max: Some(299),
                ..StatusAssertion::default()
            }),
            ..Assertion::default()
        }];
        if let Some(all) = keywords.filter(|all| !all.is_empty()) {
            assertions.push(keywords_assertion(all));
        }
        ImportedCase {
            row: r.row,
            name: name.trim_end().to_owned(),
            description: None,
            tags: vec!["imported".to_owned()],
            active,
            priority: None,
            spec: http_spec(
                HttpRequest {
                    method: HttpMethod::Post,
                    url: defaults.endpoint_url.clone(),
                    query: Vec::new(),
                    headers: Vec::new(),
                    body: Some(HttpBody {
                        json: Some(async_graphql::Json(
                            serde_json::json!({ "question": question }),
                        )),
                        ..HttpBody::default()
                    }),
                    timeout_ms: DEFAULT_TIMEOUT_MS,
                    follow_redirects: true,
                },
                Vec::new(),
                assertions,
            ),
        }
    });
    r.finish(case)
}

const DEFAULT_TIMEOUT_MS: i32 = 30_000;
const MAX_TIMEOUT_MS: i32 = 600_000;

fn generic_case<C: Cells>(mut r: RowReader<'_, C>) -> Result<ImportedCase, Vec<RejectedRow>> {
    let name = r.required(Column::Name, "a name");
    if let Some(kind) = r.text(Column::Kind) {
        if !kind.eq_ignore_ascii_case("http") {
            r.problem(
                Column::Kind,
                format!(
                    "only HTTP cases can be imported from a spreadsheet, not `{kind}`; \
                     use a JSON export for the other kinds"
                ),
            );
            return Err(r.problems);
        }
    }
    let description = r
        .raw(Column::Description)
        .filter(|text| !text.trim().is_empty())
        .map(str::to_owned);
    let method = r
        .parsed(Column::Method, parse_method)
        .unwrap_or(HttpMethod::Get);
    let url = r.required(Column::Url, "a URL");
    if let Some(url) = url {
        if let Err(reason) = check_url(url) {
            r.problem(Column::Url, reason);
        }
    }
    let query = r
        .parsed(Column::Query, |text| parse_pairs(text, PairStyle::Query))
        .unwrap_or_default();
    let headers = r
        .parsed(Column::Headers, |text| parse_pairs(text, PairStyle::Header))
        .unwrap_or_default();
    let body_type = r.parsed(Column::BodyType, parse_body_type);
    let body = r.raw(Column::Body).filter(|text| !text.trim().is_empty());
    let body = match (body, body_type.flatten()) {
        (None, _) => None,
        (Some(text), kind) => match body_from(text, kind) {
            Ok(body) => Some(body),
            Err(reason) => {
                r.problem(Column::Body, reason);
                None
            }
        },
    };
    let timeout_ms = r
        .parsed(Column::TimeoutMs, |text| {
            parse_int(text, 1..=MAX_TIMEOUT_MS, "a time limit in milliseconds")
        })
        .unwrap_or(DEFAULT_TIMEOUT_MS);
    let follow_redirects = r
        .parsed(Column::FollowRedirects, parse_bool)
        .unwrap_or(true);
    let mut assertions = Vec::new();
    if let Some(code) = r.parsed(Column::ExpectedStatus, |text| {
        parse_int(text, 100..=599, "a status code")
    }) {
        assertions.push(Assertion {
            status: Some(StatusAssertion {
                equals: Some(code),
                ..StatusAssertion::default()
            }),
            ..Assertion::default()
        });
    }
    if let Some(all) = r.text(Column::Keywords).map(split_list) {
        if !all.is_empty() {
            assertions.push(keywords_assertion(all));
        }
    }
    if let Some(more) = r.parsed(Column::Assertions, |text| {
        parse_json_list::<Assertion>(text, "assertions")
    }) {
        assertions.extend(more);
    }
    let captures = r
        .parsed(Column::Captures, |text| {
            parse_json_list::<Capture>(text, "captures")
        })
        .unwrap_or_default();
    let tags = r.text(Column::Tags).map(split_list).unwrap_or_default();
    let active = r.parsed(Column::Active, parse_bool).unwrap_or(true);
    let priority = r.parsed(Column::Priority, |text| {
        parse_int(text, i32::MIN..=i32::MAX, "a priority")
    });
    let case = match (name, url) {
        (Some(name), Some(url)) => Some(ImportedCase {
            row: r.row,
            name: name.to_owned(),
            description,
            tags,
            active,
            priority,
            spec: http_spec(
                HttpRequest {
                    method,
                    url: url.to_owned(),
                    query,
                    headers,
                    body,
                    timeout_ms,
                    follow_redirects,
                },
                captures,
                assertions,
            ),
        }),
        _ => None,
    };
    r.finish(case)
}

fn http_spec(request: HttpRequest, captures: Vec<Capture>, assertions: Vec<Assertion>) -> CaseSpec {
    CaseSpec {
        http: Some(HttpSpec {
            request,
            captures,
            assertions,
        }),
        ..CaseSpec::default()
    }
}

fn keywords_assertion(all: Vec<String>) -> Assertion {
    Assertion {
        keywords: Some(KeywordsAssertion { all }),
        ..Assertion::default()
    }
}

// ---------------------------------------------------------------------------
// Cell syntax (shared with the exporter, which checks that what it writes reads back)
// ---------------------------------------------------------------------------

const LIST_SEPARATORS: [char; 7] = [',', ';', '，', '；', '、', '\n', '\r'];

/// Splits a keyword or tag list at `,` `;` `，` `；` `、` and line breaks; items are trimmed, empty ones dropped.
pub(crate) fn split_list(text: &str) -> Vec<String> {
    text.split(LIST_SEPARATORS)
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text.trim().to_lowercase().as_str() {
        "true" | "1" | "yes" | "y" | "是" => Ok(true),
        "false" | "0" | "no" | "n" | "否" => Ok(false),
        _ => Err(format!(
            "`{text}` is not a yes/no value (use true/false, 1/0, yes/no or 是/否)"
        )),
    }
}

fn parse_int(text: &str, range: std::ops::RangeInclusive<i32>, what: &str) -> Result<i32, String> {
    let text = text.trim();
    // Spreadsheets may keep whole numbers as decimals ("200.0").
    let whole = text
        .strip_suffix(".0")
        .or_else(|| text.strip_suffix(".00"))
        .unwrap_or(text);
    match whole.parse::<i32>() {
        Ok(value) if range.contains(&value) => Ok(value),
        _ => Err(format!(
            "`{text}` is not {what} (a whole number from {} to {})",
            range.start(),
            range.end()
        )),
    }
}

/// Every HTTP method with its name.
pub(crate) const METHODS: [(HttpMethod, &str); 7] = [
    (HttpMethod::Get, "GET"),
    (HttpMethod::Post, "POST"),
    (HttpMethod::Put, "PUT"),
    (HttpMethod::Patch, "PATCH"),
    (HttpMethod::Delete, "DELETE"),
    (HttpMethod::Head, "HEAD"),
    (HttpMethod::Options, "OPTIONS"),
];

fn parse_method(text: &str) -> Result<HttpMethod, String> {
    METHODS
        .iter()
        .find(|(_, name)| name.eq_ignore_ascii_case(text.trim()))
        .map(|(method, _)| *method)
        .ok_or_else(|| {
            format!(
                "`{text}` is not an HTTP method (use one of {})",
                METHODS.map(|(_, name)| name).join(", ")
            )
        })
}

fn check_url(url: &str) -> Result<(), String> {
    let absolute = url.starts_with("http://") || url.starts_with("https://");
    if (absolute || url.starts_with("{{")) && !url.contains(char::is_whitespace) {
        Ok(())
    } else {
        Err(format!(
            "`{url}` must be an http(s) URL or start with a {{{{variable}}}}"
        ))
    }
}

/// How a list of name/value pairs is written in a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PairStyle {
    /// `Name: value`, one per line or separated by `;`.
    Header,
    /// `name=value`, one per line or separated by `&`.
    Query,
}

/// Reads name/value pairs: a JSON object `{"name": "value"}` (order and repeats kept), or lines in `style`.
pub(crate) fn parse_pairs(text: &str, style: PairStyle) -> Result<Vec<KeyValue>, String> {
    let text = text.trim();
    let pairs = if text.starts_with('{') && !text.starts_with("{{") {
        serde_json::from_str::<OrderedPairs>(text)
            .map_err(|error| format!("malformed JSON object: {error}"))?
            .0
    } else {
        let mut pairs = Vec::new();
        for item in split_pair_items(text, style) {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let (name, value) = match style {
                PairStyle::Header => item.split_once(':').ok_or_else(|| {
                    format!("`{item}` is not a `Name: value` pair (or give a JSON object)")
                })?,
                PairStyle::Query => item.split_once('=').unwrap_or((item, "")),
            };
            pairs.push(KeyValue {
                name: name.trim().to_owned(),
                value: value.trim().to_owned(),
            });
        }
        pairs
    };
    for pair in &pairs {
        if pair.name.is_empty() {
            return Err("a pair has an empty name".to_owned());
        }
        if style == PairStyle::Header && !is_header_name(&pair.name) {
            return Err(format!("`{}` is not a valid header name", pair.name));
        }
    }
    Ok(pairs)
}

fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~{}".contains(&b))
}

/// Splits pair text into items: at line breaks, and at `&` (query) or at a `;`
/// that starts a new `Name:` (headers, so `text/html; charset=utf-8` stays whole).
fn split_pair_items(text: &str, style: PairStyle) -> Vec<&str> {
    let mut items = Vec::new();
    for line in text.lines() {
        match style {
            PairStyle::Query => items.extend(line.split('&')),
            PairStyle::Header => {
                let mut start = 0;
                for (at, _) in line.match_indices(';') {
                    if starts_header(&line[at + 1..]) {
                        items.push(&line[start..at]);
                        start = at + 1;
                    }
                }
                items.push(&line[start..]);
            }
        }
    }
    items
}

fn starts_header(rest: &str) -> bool {
    rest.split_once(':')
        .is_some_and(|(name, _)| is_header_name(name.trim()))
}

/// A JSON object read as ordered name/value pairs.
struct OrderedPairs(Vec<KeyValue>);

impl<'de> Deserialize<'de> for OrderedPairs {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor;
        impl<'de> Visitor<'de> for PairsVisitor {
            type Value = OrderedPairs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of names to string values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedPairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some((name, value)) = map.next_entry::<String, Value>()? {
                    let value = match value {
                        Value::String(text) => text,
                        Value::Number(number) => number.to_string(),
                        Value::Bool(flag) => flag.to_string(),
                        _ => {
                            return Err(de::Error::custom(format!(
                                "the value of `{name}` must be a string"
                            )))
                        }
                    };
                    pairs.push(KeyValue { name, value });
                }
                Ok(OrderedPairs(pairs))
            }
        }
        deserializer.deserialize_map(PairsVisitor)
    }
}

/// Which shape a body cell holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyType {
    Json,
    Text,
    Form,
}

fn parse_body_type(text: &str) -> Result<Option<BodyType>, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "" | "auto" => Ok(None),
        "json" => Ok(Some(BodyType::Json)),
        "text" => Ok(Some(BodyType::Text)),
        "form" => Ok(Some(BodyType::Form)),
        _ => Err(format!(
            "`{text}` is not a body type (use json, text or form)"
        )),
    }
}

/// Reads a body cell; without a type, JSON if it parses as JSON, else text.
pub(crate) fn body_from(text: &str, body_type: Option<BodyType>) -> Result<HttpBody, String> {
    let json = |value| HttpBody {
        json: Some(async_graphql::Json(value)),
        ..HttpBody::default()
    };
    let text_body = || HttpBody {
        text: Some(text.to_owned()),
        ..HttpBody::default()
    };
    match body_type {
        None => Ok(serde_json::from_str::<Value>(text).map_or_else(|_| text_body(), json)),
        Some(BodyType::Text) => Ok(text_body()),
        Some(BodyType::Json) => serde_json::from_str::<Value>(text)
            .map(json)
            .map_err(|error| format!("is not valid JSON: {error}")),
        Some(BodyType::Form) => Ok(HttpBody {
            form: Some(parse_pairs(text, PairStyle::Query)?),
            ..HttpBody::default()
        }),
    }
}

fn parse_json_list<T: de::DeserializeOwned>(text: &str, what: &str) -> Result<Vec<T>, String> {
    serde_json::from_str(text).map_err(|error| format!("is not a JSON array of {what}: {error}"))
}

// ---------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------

/// Imports a CSV file (UTF-8; `,` `;` or tab as delimiter, recognised from the header row).
pub fn import_csv(bytes: &[u8], defaults: &ImportDefaults) -> Result<ImportOutcome, ImportError> {
    let mut first_error = None;
    for delimiter in [b',', b';', b'\t'] {
        match import_csv_with(bytes, defaults, delimiter) {
            Err(error @ ImportError::UnknownColumns { .. }) => {
                first_error.get_or_insert(error);
            }
            other => return other,
        }
    }
    Err(first_error.unwrap_or(ImportError::NoHeader))
}

/// The number of line breaks at `from`: the csv crate skips blank lines, but
/// a spreadsheet shows each as a row, so they count towards row numbers.
fn blank_lines_at(bytes: &[u8], from: usize) -> usize {
    let mut count = 0;
    let mut at = from;
    // The csv crate ends a record at the `\r` of a `\r\n`; its `\n` is no blank line.
    if at > 0 && bytes.get(at - 1) == Some(&b'\r') && bytes.get(at) == Some(&b'\n') {
        at += 1;
    }
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'\n' => at += 1,
            b'\r' if bytes.get(at + 1) == Some(&b'\n') => at += 2,
            b'\r' => at += 1,
            _ => break,
        }
        count += 1;
    }
    count
}

fn import_csv_with(
    bytes: &[u8],
    defaults: &ImportDefaults,
    delimiter: u8,
) -> Result<ImportOutcome, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(bytes);
    let mut row = 0;
    let mut record = csv::StringRecord::new();
    // Each record is one spreadsheet row, even when a quoted cell spans lines.
    let mut next = |reader: &mut csv::Reader<&[u8]>,
                    record: &mut csv::StringRecord|
     -> Result<Option<usize>, ImportError> {
        match reader.read_record(record) {
            Ok(false) => Ok(None),
            Ok(true) => {
                let start = record.position().map_or(0, |position| position.byte());
                let start = usize::try_from(start).unwrap_or(usize::MAX);
                row += 1 + blank_lines_at(bytes, start);
                Ok(Some(row))
            }
            Err(error) => Err(csv_error(&error, row + 1)),
        }
    };
    let layout = loop {
        match next(&mut reader, &mut record)? {
            None => return Err(ImportError::NoHeader),
            Some(_) if record.is_blank() => continue,
            Some(_) => break Layout::detect(record.iter())?,
        }
    };
    let mut outcome = ImportOutcome {
        format: layout.format,
        cases: Vec::new(),
        rejected: Vec::new(),
    };
    while let Some(row) = next(&mut reader, &mut record)? {
        import_row(&layout, defaults, row, &record, &mut outcome);
    }
    Ok(outcome)
}

fn csv_error(error: &csv::Error, row: usize) -> ImportError {
    match error.kind() {
        csv::ErrorKind::Utf8 { .. } => ImportError::NotUtf8 { row },
        _ => ImportError::Csv(error.to_string()),
    }
}

// ---------------------------------------------------------------------------
// Excel
// ---------------------------------------------------------------------------

/// Imports the first worksheet of an Excel .xlsx workbook.
pub fn import_xlsx(bytes: &[u8], defaults: &ImportDefaults) -> Result<ImportOutcome, ImportError> {
    let mut workbook =
        Xlsx::new(Cursor::new(bytes)).map_err(|error| ImportError::Xlsx(error.to_string()))?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or(ImportError::EmptyWorkbook)?
        .map_err(|error| ImportError::Xlsx(error.to_string()))?;
    // The range starts at the first used cell, not necessarily at A1.
    let (first_row, _) = range.start().ok_or(ImportError::NoHeader)?;
    let first_row = usize::try_from(first_row).unwrap_or(0);
    let mut rows = range
        .rows()
        .enumerate()
        .map(|(index, cells)| (first_row + index + 1, cells));
    let layout = loop {
        let (_, cells) = rows.next().ok_or(ImportError::NoHeader)?;
        let cells: Vec<SheetCell<'_>> = cells.iter().map(sheet_cell).collect();
        if cells.is_blank() {
            continue;
        }
        let header = cells.iter().map(|cell| match cell {
            SheetCell::Text(text) => text.as_ref(),
            SheetCell::Error(_) => "",
        });
        break Layout::detect(header)?;
    };
    let mut outcome = ImportOutcome {
        format: layout.format,
        cases: Vec::new(),
        rejected: Vec::new(),
    };
    for (row, cells) in rows {
        let cells: Vec<SheetCell<'_>> = cells.iter().map(sheet_cell).collect();
        import_row(&layout, defaults, row, &cells, &mut outcome);
    }
    Ok(outcome)
}

// ---------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------

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

#[cfg(test)]
mod tests;
