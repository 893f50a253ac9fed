//! Tests of the parent module.

use super::*;
use crate::cases::import::{import_csv, import_json, ImportDefaults, ImportFormat};
use crate::cases::spec::*;
use async_graphql::Json;
use serde_json::json;

fn kv(name: &str, value: &str) -> KeyValue {
    KeyValue {
        name: name.into(),
        value: value.into(),
    }
}

fn request(method: HttpMethod, url: &str) -> HttpRequest {
    HttpRequest {
        method,
        url: url.into(),
        query: vec![],
        headers: vec![],
        body: None,
        timeout_ms: 30_000,
        follow_redirects: true,
    }
}

fn status(code: i32) -> Assertion {
    Assertion {
        status: Some(StatusAssertion {
            equals: Some(code),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn keywords(all: &[&str]) -> Assertion {
    Assertion {
        keywords: Some(KeywordsAssertion {
            all: all.iter().map(|k| k.to_string()).collect(),
        }),
        ..Default::default()
    }
}

fn case(name: &str, spec: CaseSpec) -> ExportedCase {
    ExportedCase {
        name: name.into(),
        description: None,
        tags: vec![],
        active: true,
        priority: None,
        spec,
    }
}

fn http_case(name: &str, spec: HttpSpec) -> ExportedCase {
    case(
        name,
        CaseSpec {
            http: Some(spec),
            ..Default::default()
        },
    )
}

fn every_http_field() -> HttpSpec {
    HttpSpec {
        request: HttpRequest {
            method: HttpMethod::Patch,
            url: "{{baseUrl}}/items/{{id}}".into(),
            query: vec![kv("page", "2"), kv("q", "a&b=c"), kv("page", "3")],
            headers: vec![
                kv("Authorization", "Bearer {{token}}"),
                kv("Accept", "text/html; X-Not: a header"),
                kv("X-Empty", ""),
            ],
            body: Some(HttpBody {
                json: Some(Json(json!({"n": 1.5, "big": 9007199254740993_u64,
                        "neg": -7, "nested": {"a": [true, null, "中文"]}}))),
                ..Default::default()
            }),
            timeout_ms: 1234,
            follow_redirects: false,
        },
        captures: vec![
            Capture {
                variable: "id".into(),
                json_path: Some("$.id".into()),
                header: None,
                regex: None,
                group: None,
            },
            Capture {
                variable: "etag".into(),
                json_path: None,
                header: Some("ETag".into()),
                regex: None,
                group: None,
            },
            Capture {
                variable: "code".into(),
                json_path: None,
                header: None,
                regex: Some("code=(\\d+),(\\w+)".into()),
                group: Some(2),
            },
        ],
        assertions: vec![
            status(200),
            keywords(&["created", "id"]),
            Assertion {
                status: Some(StatusAssertion {
                    one_of: Some(vec![200, 201]),
                    ..Default::default()
                }),
                ..Default::default()
            },
            Assertion {
                header: Some(HeaderAssertion {
                    name: "Content-Type".into(),
                    matches: Some("^application/json".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            Assertion {
                json_path: Some(JsonPathAssertion {
                    path: "$.items[0].price".into(),
                    operator: JsonPathOperator::GreaterThan,
                    value: Some(Json(json!(0.25))),
                }),
                ..Default::default()
            },
            Assertion {
                json_path: Some(JsonPathAssertion {
                    path: "$.id".into(),
                    operator: JsonPathOperator::Exists,
                    value: None,
                }),
                ..Default::default()
            },
            Assertion {
                body: Some(BodyAssertion {
                    contains: Some("\"ok\"".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            keywords(&["comma, inside", "x"]),
            Assertion {
                response_time: Some(ResponseTimeAssertion { below_ms: 800 }),
                ..Default::default()
            },
            Assertion {
                json_schema: Some(JsonSchemaAssertion {
                    schema: Json(json!({"type": "object", "required": ["id"]})),
                }),
                ..Default::default()
            },
        ],
    }
}

fn all_kinds() -> Vec<ExportedCase> {
    let mut http = http_case("Create \"item\", 中文", every_http_field());
    http.description = Some("line one\nline two".into());
    http.tags = vec!["api".into(), "smoke".into()];
    http.priority = Some(-3);

    let mut perf_request = request(HttpMethod::Post, "https://load.test/login");
    perf_request.body = Some(HttpBody {
        form: Some(vec![kv("user", "u"), kv("pass", "p w")]),
        ..Default::default()
    });
    let mut perf = case(
        "Login load",
        CaseSpec {
            perf: Some(PerfSpec {
                request: perf_request,
                load: LoadProfile {
                    virtual_users: Some(50),
                    arrival_rate: None,
                    duration_seconds: 120,
                    stages: vec![
                        RampStage {
                            duration_seconds: 30,
                            target: 50,
                        },
                        RampStage {
                            duration_seconds: 10,
                            target: 0,
                        },
                    ],
                },
                thresholds: vec![
                    PerfThreshold {
                        percentile: Some(99.9),
                        below_ms: Some(450),
                        max_error_rate_percent: None,
                    },
                    PerfThreshold {
                        max_error_rate_percent: Some(0.1),
                        ..Default::default()
                    },
                ],
            }),
            ..Default::default()
        },
    );
    perf.active = false;

    let mut script = case(
        "Pytest suite",
        CaseSpec {
            script: Some(ScriptSpec {
                files: vec![
                    ScriptFile {
                        path: "test_login.py".into(),
                        content:
                            "import helpers\n\ndef test_ok():\n    assert helpers.x() == '\\t'\n"
                                .into(),
                    },
                    ScriptFile {
                        path: "pkg/helpers.py".into(),
                        content: "def x():\n    return '\\t'\n".into(),
                    },
                ],
                requirements: "requests==2.32.3\n".into(),
                timeout_seconds: 90,
            }),
            ..Default::default()
        },
    );
    script.priority = Some(10);
    script.description = Some(String::new());

    let steps = [
        (UiAction::Open, Some("https://app.test/"), None, None),
        (UiAction::Type, None, Some("#user"), Some("ann")),
        (UiAction::Click, None, Some("button[type=submit]"), None),
        (UiAction::WaitForSelector, None, Some(".dashboard"), None),
        (UiAction::AssertText, None, None, Some("Welcome")),
        (UiAction::AssertVisible, None, Some("nav"), None),
        (UiAction::Screenshot, None, None, None),
    ];
    let ui = case(
        "UI login",
        CaseSpec {
            ui: Some(UiSpec {
                steps: steps
                    .iter()
                    .map(|(action, url, selector, text)| UiStep {
                        action: *action,
                        url: url.map(str::to_owned),
                        selector: selector.map(str::to_owned),
                        text: text.map(str::to_owned),
                    })
                    .collect(),
                timeout_seconds: 45,
            }),
            ..Default::default()
        },
    );
    vec![http, perf, script, ui]
}

fn defaults() -> ImportDefaults {
    ImportDefaults {
        endpoint_url: "{{baseUrl}}/query".into(),
    }
}

#[test]
fn json_round_trip_keeps_every_field_of_all_four_kinds() {
    let cases = all_kinds();
    let text = export_json(&cases);
    assert!(text.starts_with("[\n"));
    let outcome = import_json(text.as_bytes()).unwrap();
    assert_eq!(outcome.format, ImportFormat::Json);
    assert!(outcome.rejected.is_empty(), "{:?}", outcome.rejected);
    let rows: Vec<usize> = outcome.cases.iter().map(|c| c.row).collect();
    assert_eq!(rows, vec![1, 2, 3, 4]);
    let back: Vec<ExportedCase> = outcome.cases.into_iter().map(Into::into).collect();
    assert_eq!(back, cases);
    // And a second trip writes the same text.
    assert_eq!(export_json(&back), text);
    assert_eq!(export_json(&[]), "[]");
    assert!(import_json(b"[]").unwrap().cases.is_empty());
}

#[test]
fn csv_round_trip_of_http_cases() {
    let mut simple = http_case(
        "Health, simple",
        HttpSpec {
            request: request(HttpMethod::Get, "https://api.test/health"),
            captures: vec![],
            assertions: vec![status(200), keywords(&["ok", "中文", "up time"])],
        },
    );
    simple.tags = vec!["smoke".into(), "health".into()];
    simple.description = Some("Checks \"health\",\nquickly".into());
    simple.priority = Some(1);
    simple.active = false;

    let mut post = request(HttpMethod::Post, "{{baseUrl}}/echo");
    post.body = Some(HttpBody {
        text: Some("123".into()), // looks like JSON, stays text
        ..Default::default()
    });
    post.headers = vec![kv("Content-Type", "text/plain; charset=utf-8")];
    let text_body = http_case(
        "Text body",
        HttpSpec {
            request: post,
            captures: vec![],
            assertions: vec![status(201)],
        },
    );

    let mut form = request(HttpMethod::Put, "http://x.test/form");
    form.body = Some(HttpBody {
        form: Some(vec![kv("a", "1"), kv("b", "x&y"), kv("a", "2")]),
        ..Default::default()
    });
    let form_body = http_case(
        "Form body",
        HttpSpec {
            request: form,
            captures: vec![],
            assertions: vec![keywords(&["saved"])],
        },
    );

    // Keywords before status: both stay in the `assertions` column to keep the order.
    let reordered = http_case(
        "Reordered",
        HttpSpec {
            request: request(HttpMethod::Delete, "http://x.test/1"),
            captures: vec![],
            assertions: vec![keywords(&["gone"]), status(204)],
        },
    );

    let everything = http_case("Everything", every_http_field());

    let legacy = crate::cases::import::import_csv(
        "question,expected_keywords\n你好吗？,好，很好\n".as_bytes(),
        &defaults(),
    )
    .unwrap()
    .cases
    .remove(0);

    let cases = vec![
        simple,
        text_body,
        form_body,
        reordered,
        everything,
        legacy.into(),
    ];
    let text = export_csv(&cases);
    let header = text.split("\r\n").next().unwrap();
    assert_eq!(
        header,
        "name,description,kind,method,url,query,headers,body_type,body,timeout_ms,\
             follow_redirects,expected_status,keywords,assertions,captures,tags,active,priority"
    );
    // The simple case uses the plain columns only.
    let simple_row = text.split("\r\n").nth(1).unwrap();
    assert!(simple_row.starts_with("\"Health, simple\",\"Checks \"\"health\"\",\n"));
    assert!(text.contains(",200,\"ok, 中文, up time\",,,\"smoke, health\",false,1\r\n"));

    let outcome = import_csv(text.as_bytes(), &defaults()).unwrap();
    assert_eq!(outcome.format, ImportFormat::Generic);
    assert!(outcome.rejected.is_empty(), "{:?}", outcome.rejected);
    let back: Vec<ExportedCase> = outcome.cases.into_iter().map(Into::into).collect();
    assert_eq!(back, cases);
}

#[test]
fn csv_export_of_other_kinds_fills_only_the_common_columns() {
    let cases = all_kinds();
    let text = export_csv(&cases[1..]);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(&rows[0][0], "Login load");
    assert_eq!(&rows[0][2], "PERF");
    assert!((3..15).all(|column| rows[0][column].is_empty()));
    assert_eq!(&rows[0][16], "false");
    assert_eq!(&rows[1][2], "SCRIPT");
    assert_eq!(&rows[1][17], "10");
    assert_eq!(&rows[2][2], "UI");
    // Re-importing says why these rows cannot come back from CSV.
    let outcome = import_csv(text.as_bytes(), &defaults()).unwrap();
    assert!(outcome.cases.is_empty());
    let columns: Vec<_> = outcome
        .rejected
        .iter()
        .map(|r| r.column.as_deref())
        .collect();
    assert_eq!(columns, vec![Some("kind"); 3]);
    assert!(outcome.rejected[0].reason.contains("JSON"));
}
