//! Reading CSV files.

use super::columns::Layout;
use super::rows::{import_row, Cells};
use super::{ImportDefaults, ImportError, ImportOutcome};

impl Cells for csv::StringRecord {
    fn text(&self, index: usize) -> Result<&str, String> {
        Ok(self.get(index).unwrap_or(""))
    }

    fn is_blank(&self) -> bool {
        self.iter().all(|cell| cell.trim().is_empty())
    }
}

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
