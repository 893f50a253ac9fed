//! The two column sets (the legacy question columns and the generic set) and how a
//! header row picks one.

use super::{ImportError, ImportFormat};

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
pub(super) struct Layout {
    pub(super) format: ImportFormat,
    index: [Option<usize>; COLUMN_COUNT],
}

impl Layout {
    pub(super) fn detect<'a>(header: impl Iterator<Item = &'a str>) -> Result<Layout, ImportError> {
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

    pub(super) fn get(&self, column: Column) -> Option<usize> {
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
