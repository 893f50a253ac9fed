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

mod cell_syntax;
mod columns;
mod csv_file;
mod generic;
mod json_file;
mod question;
mod rows;
mod xlsx_file;

pub(crate) use cell_syntax::{parse_pairs, split_list, PairStyle, METHODS};
pub(crate) use columns::{Column, GENERIC_COLUMNS};
pub use csv_file::import_csv;
pub use json_file::import_json;
pub use xlsx_file::import_xlsx;

use crate::cases::spec::CaseSpec;

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

#[cfg(test)]
mod tests;
