//! Rows of the legacy question column set: each becomes a POST of the question to the
//! default endpoint.

use super::cell_syntax::{parse_bool, split_list};
use super::columns::Column;
use super::rows::{http_spec, keywords_assertion, Cells, RowReader, DEFAULT_TIMEOUT_MS};
use super::{ImportDefaults, ImportedCase, RejectedRow, MAX_QUESTION_NAME_CHARS};
use crate::cases::spec::{Assertion, HttpBody, HttpMethod, HttpRequest, StatusAssertion};

pub(super) fn question_case<C: Cells>(
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
