//! Rows of the generic column set: a whole HTTP case per row.

use super::cell_syntax::{
    body_from, check_url, parse_body_type, parse_bool, parse_int, parse_json_list, parse_method,
    parse_pairs, split_list, PairStyle,
};
use super::columns::Column;
use super::rows::{http_spec, keywords_assertion, Cells, RowReader, DEFAULT_TIMEOUT_MS};
use super::{ImportedCase, RejectedRow};
use crate::cases::spec::{Assertion, Capture, HttpMethod, HttpRequest, StatusAssertion};

const MAX_TIMEOUT_MS: i32 = 600_000;

pub(super) fn generic_case<C: Cells>(
    mut r: RowReader<'_, C>,
) -> Result<ImportedCase, Vec<RejectedRow>> {
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
