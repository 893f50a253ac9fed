//! Reading one data row: cell access with per-column problems, and turning the row into a case.

use super::columns::{Column, Layout};
use super::generic::generic_case;
use super::question::question_case;
use super::{ImportDefaults, ImportFormat, ImportOutcome, ImportedCase, RejectedRow};
use crate::cases::spec::{Assertion, Capture, CaseSpec, HttpRequest, HttpSpec, KeywordsAssertion};

/// The cells of one row, whatever file they came from.
pub(super) trait Cells {
    /// The text of cell `index` (empty past the row's end), or why it has none.
    fn text(&self, index: usize) -> Result<&str, String>;
    /// Whether every cell is empty or blank.
    fn is_blank(&self) -> bool;
}

/// Reads the cells of one row, collecting its problems.
pub(super) struct RowReader<'c, C> {
    layout: &'c Layout,
    cells: &'c C,
    pub(super) row: usize,
    pub(super) problems: Vec<RejectedRow>,
}

impl<'c, C: Cells> RowReader<'c, C> {
    pub(super) fn problem(&mut self, column: Column, reason: impl Into<String>) {
        self.problems.push(RejectedRow {
            row: self.row,
            column: Some(column.header().to_owned()),
            reason: reason.into(),
        });
    }

    /// The cell as written; `None` when the column is absent or the cell holds an error.
    pub(super) fn raw(&mut self, column: Column) -> Option<&'c str> {
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
    pub(super) fn text(&mut self, column: Column) -> Option<&'c str> {
        self.raw(column)
            .map(str::trim)
            .filter(|text| !text.is_empty())
    }

    /// The trimmed cell, which must not be empty.
    pub(super) fn required(&mut self, column: Column, what: &str) -> Option<&'c str> {
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
    pub(super) fn parsed<T>(
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

    pub(super) fn finish(
        self,
        case: Option<ImportedCase>,
    ) -> Result<ImportedCase, Vec<RejectedRow>> {
        match case {
            Some(case) if self.problems.is_empty() => Ok(case),
            _ => Err(self.problems),
        }
    }
}

/// Adds one data row to `outcome`, unless it is blank.
pub(super) fn import_row<C: Cells>(
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

pub(super) const DEFAULT_TIMEOUT_MS: i32 = 30_000;

pub(super) fn http_spec(
    request: HttpRequest,
    captures: Vec<Capture>,
    assertions: Vec<Assertion>,
) -> CaseSpec {
    CaseSpec {
        http: Some(HttpSpec {
            request,
            captures,
            assertions,
        }),
        ..CaseSpec::default()
    }
}

pub(super) fn keywords_assertion(all: Vec<String>) -> Assertion {
    Assertion {
        keywords: Some(KeywordsAssertion { all }),
        ..Assertion::default()
    }
}
