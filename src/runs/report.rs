//! Run reports: the summary (counts, pass rate, latency percentiles) and its
//! renderings as JUnit XML, JSON, CSV and a self-contained HTML page.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use async_graphql::{Enum, SimpleObject};
use serde::Serialize;
use serde_json::json;

use super::model::{RunCaseRow, RunRow};
use super::state::CaseResultStatus;

/// Latency percentiles of the executed cases, in ms.
#[derive(Debug, Clone, Default, PartialEq, Serialize, SimpleObject)]
pub struct Latency {
    /// Median.
    pub p50: i64,
    /// 90th percentile.
    pub p90: i64,
    /// 95th percentile.
    pub p95: i64,
    /// 99th percentile.
    pub p99: i64,
    /// Slowest.
    pub max: i64,
}

/// How many failed assertions of one kind the run had.
#[derive(Debug, Clone, PartialEq, Serialize, SimpleObject)]
pub struct AssertionFailures {
    /// STATUS, HEADER, JSON_PATH, BODY, KEYWORDS, RESPONSE_TIME, JSON_SCHEMA or INVALID.
    pub kind: String,
    /// Failed assertions of that kind.
    pub count: i64,
}

/// A run's numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Cases in the run.
    pub total: i64,
    /// Cases that passed.
    pub passed: i64,
    /// Cases with a failed assertion.
    pub failed: i64,
    /// Cases whose request failed.
    pub errored: i64,
    /// Cases not executed.
    pub skipped: i64,
    /// Passed share of the executed cases, 0–100.
    pub pass_rate: f64,
    /// Wall time of the run, in ms (to now while it runs).
    pub duration_ms: i64,
    /// Latency percentiles of the executed cases.
    pub latency: Latency,
    /// Failed assertions by kind, most frequent first.
    pub failures_by_assertion: Vec<AssertionFailures>,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum ReportFormat {
    /// JUnit XML, for CI systems.
    Junit,
    /// The summary and every result as JSON.
    Json,
    /// One line per case.
    Csv,
    /// A self-contained page: summary, a chart of durations, failures first.
    Html,
}

impl ReportFormat {
    /// The format a download path's extension names.
    pub fn from_extension(extension: &str) -> Option<Self> {
        match extension {
            "xml" => Some(Self::Junit),
            "json" => Some(Self::Json),
            "csv" => Some(Self::Csv),
            "html" => Some(Self::Html),
            _ => None,
        }
    }

    /// The media type of the rendering.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Junit => "application/xml; charset=utf-8",
            Self::Json => "application/json",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Html => "text/html; charset=utf-8",
        }
    }
}

/// The value at percentile `p` (nearest rank) of sorted values.
pub fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// Computes the summary of a run from its cases.
pub fn summarize(run: &RunRow, cases: &[RunCaseRow]) -> Summary {
    let mut durations: Vec<i64> = cases
        .iter()
        .filter(|case| {
            matches!(
                case.status,
                CaseResultStatus::Passed | CaseResultStatus::Failed | CaseResultStatus::Error
            )
        })
        .filter_map(|case| case.duration_ms)
        .collect();
    durations.sort_unstable();
    let mut by_kind: BTreeMap<String, i64> = BTreeMap::new();
    for case in cases {
        if let Some(outcome) = case.stored_result().and_then(|result| result.outcome) {
            for assertion in outcome.assertions.iter().filter(|a| !a.passed) {
                *by_kind.entry(assertion.kind.clone()).or_default() += 1;
            }
        }
    }
    let mut failures_by_assertion: Vec<AssertionFailures> = by_kind
        .into_iter()
        .map(|(kind, count)| AssertionFailures { kind, count })
        .collect();
    failures_by_assertion.sort_by(|a, b| b.count.cmp(&a.count).then(a.kind.cmp(&b.kind)));
    let executed = i64::from(run.passed + run.failed + run.errored);
    let pass_rate = if executed == 0 {
        0.0
    } else {
        (f64::from(run.passed) * 1000.0 / f64::from(run.passed + run.failed + run.errored)).round()
            / 10.0
    };
    let end = run.finished_at.unwrap_or_else(crate::db::now);
    let duration_ms = run
        .started_at
        .map(|start| (end - start).num_milliseconds().max(0))
        .unwrap_or(0);
    Summary {
        total: i64::from(run.total),
        passed: i64::from(run.passed),
        failed: i64::from(run.failed),
        errored: i64::from(run.errored),
        skipped: i64::from(run.skipped),
        pass_rate,
        duration_ms,
        latency: Latency {
            p50: percentile(&durations, 50.0),
            p90: percentile(&durations, 90.0),
            p95: percentile(&durations, 95.0),
            p99: percentile(&durations, 99.0),
            max: durations.last().copied().unwrap_or(0),
        },
        failures_by_assertion,
    }
}

/// Renders the report in `format`.
pub fn render(format: ReportFormat, run: &RunRow, cases: &[RunCaseRow]) -> String {
    let summary = summarize(run, cases);
    match format {
        ReportFormat::Junit => junit(run, &summary, cases),
        ReportFormat::Json => json_report(run, &summary, cases),
        ReportFormat::Csv => csv_report(cases),
        ReportFormat::Html => html(run, &summary, cases),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// One line per failed assertion or the request error, for messages.
fn failure_lines(case: &RunCaseRow) -> Vec<String> {
    let Some(result) = case.stored_result() else {
        return Vec::new();
    };
    if let Some(reason) = result.skip_reason {
        return vec![reason];
    }
    let Some(outcome) = result.outcome else {
        // A task step (a probe, a purge) says what it did in one message.
        return result.message.into_iter().collect();
    };
    let mut lines: Vec<String> = outcome
        .assertions
        .iter()
        .filter(|a| !a.passed)
        .map(|a| {
            format!(
                "{}: expected {}, got {}",
                a.description, a.expected, a.actual
            )
        })
        .collect();
    if let Some(error) = outcome.error {
        lines.push(format!("{:?}: {}", error.kind, error.message));
    }
    lines
}

fn seconds(ms: Option<i64>) -> String {
    #[allow(clippy::cast_precision_loss)]
    let secs = ms.unwrap_or(0) as f64 / 1000.0;
    format!("{secs:.3}")
}

fn junit(run: &RunRow, summary: &Summary, cases: &[RunCaseRow]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"run {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\">",
        escape(&run.id), summary.total, summary.failed, summary.errored, summary.skipped, seconds(Some(summary.duration_ms))
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\">",
        escape(&run.id), summary.total, summary.failed, summary.errored, summary.skipped, seconds(Some(summary.duration_ms))
    );
    for case in cases {
        let _ = write!(
            out,
            "    <testcase name=\"{}\" classname=\"{}\" time=\"{}\"",
            escape(&case.name),
            escape(case.kind.as_str()),
            seconds(case.duration_ms)
        );
        let message = escape(&failure_lines(case).join("\n"));
        match case.status {
            CaseResultStatus::Failed => {
                let _ = writeln!(
                    out,
                    ">\n      <failure message=\"{message}\">{message}</failure>\n    </testcase>"
                );
            }
            CaseResultStatus::Error => {
                let _ = writeln!(
                    out,
                    ">\n      <error message=\"{message}\">{message}</error>\n    </testcase>"
                );
            }
            CaseResultStatus::Skipped | CaseResultStatus::Pending | CaseResultStatus::Running => {
                let _ = writeln!(
                    out,
                    ">\n      <skipped message=\"{message}\"/>\n    </testcase>"
                );
            }
            CaseResultStatus::Passed => {
                let _ = writeln!(out, "/>");
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

fn json_report(run: &RunRow, summary: &Summary, cases: &[RunCaseRow]) -> String {
    let results: Vec<serde_json::Value> = cases
        .iter()
        .map(|case| {
            json!({
                "caseId": case.case_id, "name": case.name, "kind": case.kind,
                "status": case.status, "durationMs": case.duration_ms,
                "result": case.stored_result(),
            })
        })
        .collect();
    json!({
        "run": { "id": run.id, "projectId": run.project_id, "status": run.status,
                 "trigger": run.trigger_kind, "createdAt": run.created_at.and_utc(),
                 "startedAt": run.started_at.map(|t| t.and_utc()),
                 "finishedAt": run.finished_at.map(|t| t.and_utc()) },
        "summary": summary,
        "results": results,
    })
    .to_string()
}

fn csv_report(cases: &[RunCaseRow]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record([
        "position",
        "case_id",
        "name",
        "kind",
        "status",
        "duration_ms",
        "response_status",
        "message",
    ]);
    for case in cases {
        let response_status = case
            .stored_result()
            .and_then(|result| result.outcome)
            .and_then(|outcome| outcome.response)
            .map(|response| response.status.to_string())
            .unwrap_or_default();
        let _ = writer.write_record([
            case.position.to_string(),
            case.case_id.clone(),
            case.name.clone(),
            case.kind.as_str().to_owned(),
            case.status.as_str().to_owned(),
            case.duration_ms
                .map(|ms| ms.to_string())
                .unwrap_or_default(),
            response_status,
            failure_lines(case).join("; "),
        ]);
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Failures first, then errors, then the rest in run order.
fn rank(status: CaseResultStatus) -> u8 {
    match status {
        CaseResultStatus::Failed => 0,
        CaseResultStatus::Error => 1,
        CaseResultStatus::Skipped => 3,
        CaseResultStatus::Passed | CaseResultStatus::Pending | CaseResultStatus::Running => 2,
    }
}

fn html(run: &RunRow, summary: &Summary, cases: &[RunCaseRow]) -> String {
    let mut ordered: Vec<&RunCaseRow> = cases.iter().collect();
    ordered.sort_by_key(|case| (rank(case.status), case.position));
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Run {id}</title>\n<style>\
body{{font-family:system-ui,sans-serif;margin:2rem;color:#222}}h1{{font-size:1.4rem}}\
.cards{{display:flex;gap:1rem;flex-wrap:wrap}}.card{{border:1px solid #ddd;border-radius:6px;padding:.6rem 1rem}}\
.card b{{display:block;font-size:1.3rem}}table{{border-collapse:collapse;width:100%;margin-top:1rem}}\
td,th{{border-bottom:1px solid #eee;padding:.3rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}}\
.PASSED{{color:#17803d}}.FAILED{{color:#c62828}}.ERROR{{color:#b45309}}.SKIPPED{{color:#666}}\
ul{{margin:0;padding-left:1rem}}</style></head><body>\n<h1>Run {id} — <span class=\"{status}\">{status}</span></h1>\n",
        id = escape(&run.id),
        status = run.status
    );
    let _ = writeln!(
        out,
        "<div class=\"cards\"><div class=\"card\">Total<b>{}</b></div><div class=\"card PASSED\">Passed<b>{}</b></div>\
<div class=\"card FAILED\">Failed<b>{}</b></div><div class=\"card ERROR\">Errored<b>{}</b></div>\
<div class=\"card SKIPPED\">Skipped<b>{}</b></div><div class=\"card\">Pass rate<b>{}%</b></div>\
<div class=\"card\">Duration<b>{} ms</b></div><div class=\"card\">p50 / p95 / max<b>{} / {} / {} ms</b></div></div>",
        summary.total, summary.passed, summary.failed, summary.errored, summary.skipped,
        summary.pass_rate, summary.duration_ms, summary.latency.p50, summary.latency.p95, summary.latency.max
    );
    out.push_str(&duration_chart(cases));
    out.push_str(
        "<table><tr><th>#</th><th>Case</th><th>Status</th><th>Duration</th><th>Details</th></tr>\n",
    );
    for case in ordered {
        let details: String = failure_lines(case)
            .iter()
            .map(|line| format!("<li>{}</li>", escape(line)))
            .collect();
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"{status}\">{status}</td><td>{}</td><td><ul>{details}</ul></td></tr>",
            case.position + 1,
            escape(&case.name),
            case.duration_ms.map(|ms| format!("{ms} ms")).unwrap_or_default(),
            status = case.status
        );
    }
    out.push_str("</table>\n</body></html>\n");
    out
}

/// An inline SVG bar chart: how many executed cases fell in each duration bucket.
fn duration_chart(cases: &[RunCaseRow]) -> String {
    const BUCKETS: [(i64, &str); 8] = [
        (10, "<10"),
        (50, "<50"),
        (100, "<100"),
        (250, "<250"),
        (500, "<500"),
        (1000, "<1s"),
        (5000, "<5s"),
        (i64::MAX, "≥5s"),
    ];
    let mut counts = [0_i64; 8];
    for ms in cases.iter().filter_map(|case| case.duration_ms) {
        let bucket = BUCKETS
            .iter()
            .position(|(limit, _)| ms < *limit)
            .unwrap_or(7);
        counts[bucket] += 1;
    }
    let highest = counts.iter().copied().max().unwrap_or(0).max(1);
    let mut svg = String::from(
        "<h2>Durations (ms)</h2><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"560\" height=\"180\" role=\"img\" aria-label=\"durations\">",
    );
    for (index, ((_, label), count)) in BUCKETS.iter().zip(counts).enumerate() {
        let height = count * 140 / highest;
        let x = index * 70 + 5;
        let _ = write!(
            svg,
            "<rect x=\"{x}\" y=\"{}\" width=\"60\" height=\"{height}\" fill=\"#4f7cac\"/><text x=\"{}\" y=\"175\" font-size=\"11\" text-anchor=\"middle\">{}</text><text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{count}</text>",
            150 - height,
            x + 30,
            escape(label),
            x + 30,
            145 - height
        );
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&values, 50.0), 50);
        assert_eq!(percentile(&values, 95.0), 95);
        assert_eq!(percentile(&values, 99.0), 99);
        assert_eq!(percentile(&[7], 90.0), 7);
        assert_eq!(percentile(&[], 90.0), 0);
    }
}
