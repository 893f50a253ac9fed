//! Reading Excel .xlsx workbooks.

use std::borrow::Cow;
use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};

use super::columns::Layout;
use super::rows::{import_row, Cells};
use super::{ImportDefaults, ImportError, ImportOutcome};

/// A spreadsheet cell as text, or the error value it holds.
pub(super) enum SheetCell<'a> {
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
