//! Tests of the parent module.

use std::borrow::Cow;

use super::cell_syntax::{body_from, BodyType};
use super::columns::Layout;
use super::rows::import_row;
use super::xlsx_file::SheetCell;
use super::*;
use crate::cases::spec::{Assertion, HttpMethod, HttpSpec, KeyValue, StatusAssertion};

fn defaults() -> ImportDefaults {
    ImportDefaults {
        endpoint_url: "{{baseUrl}}/query".to_owned(),
    }
}

fn http(case: &ImportedCase) -> &HttpSpec {
    case.spec.http.as_ref().expect("an HTTP case")
}

fn keywords(case: &ImportedCase) -> Option<Vec<String>> {
    http(case)
        .assertions
        .iter()
        .find_map(|a| a.keywords.as_ref().map(|k| k.all.clone()))
}

fn status_equals(code: i32) -> Assertion {
    Assertion {
        status: Some(StatusAssertion {
            equals: Some(code),
            ..StatusAssertion::default()
        }),
        ..Assertion::default()
    }
}

fn rejected(outcome: &ImportOutcome) -> Vec<(usize, Option<&str>)> {
    outcome
        .rejected
        .iter()
        .map(|r| (r.row, r.column.as_deref()))
        .collect()
}

#[test]
fn legacy_csv_with_chinese_separators() {
    let long = "问".repeat(250);
    let csv = format!(
        "\u{feff}Question , Expected_Keywords,IS_ACTIVE,note\n\
             什么是 Rust？,\"系统，编程、安全;快, fast\",是,x\n\
             How do I log in?,,,\n\
             停用的问题,登录,否,\n\
             {long},a；b,0,\n"
    );
    let outcome = import_csv(csv.as_bytes(), &defaults()).unwrap();
    assert_eq!(outcome.format, ImportFormat::Question);
    assert!(outcome.rejected.is_empty(), "{:?}", outcome.rejected);
    let cases = &outcome.cases;
    assert_eq!(cases.len(), 4);

    let first = &cases[0];
    assert_eq!(first.row, 2);
    assert_eq!(first.name, "什么是 Rust？");
    assert_eq!(first.tags, vec!["imported"]);
    assert!(first.active);
    let spec = http(first);
    assert_eq!(spec.request.method, HttpMethod::Post);
    assert_eq!(spec.request.url, "{{baseUrl}}/query");
    let body = spec.request.body.as_ref().and_then(|b| b.json.as_ref());
    assert_eq!(
        body.map(|json| &json.0),
        Some(&serde_json::json!({"question": "什么是 Rust？"}))
    );
    assert_eq!(
        spec.assertions[0].status,
        Some(StatusAssertion {
            min: Some(200),
            max: Some(299),
            ..StatusAssertion::default()
        })
    );
    assert_eq!(
        keywords(first).unwrap(),
        vec!["系统", "编程", "安全", "快", "fast"]
    );

    // No keywords: only the status assertion; empty is_active means active.
    assert_eq!(cases[1].row, 3);
    assert!(cases[1].active);
    assert_eq!(http(&cases[1]).assertions.len(), 1);

    assert!(!cases[2].active);
    assert_eq!(keywords(&cases[2]).unwrap(), vec!["登录"]);

    // Long questions: the name is cut to 200 characters, the body keeps all.
    assert_eq!(cases[3].name.chars().count(), 200);
    assert!(!cases[3].active);
    assert_eq!(keywords(&cases[3]).unwrap(), vec!["a", "b"]);
    let body = http(&cases[3]).request.body.clone().unwrap().json.unwrap();
    assert_eq!(
        body.0["question"].as_str().map(|q| q.chars().count()),
        Some(250)
    );
}

#[test]
fn generic_csv_with_every_column() {
    let csv = "Name,Method,URL,Headers,Body,Expected Status,Keywords,Tags,Description,Active,Priority,Extra\n\
            Create user,post,https://api.example.com/users,\"{\"\"Authorization\"\": \"\"Bearer {{token}}\"\", \"\"X-Num\"\": 7}\",\"{\"\"name\"\": \"\"ann\"\"}\",201,\"id，name\",\"users, smoke\",Makes a user,no,3,ignored\n\
            Home page,,{{baseUrl}}/,\"Accept: text/html; charset=utf-8; X-Trace: 1\nCookie: a=1; b=2\",hello world,,,,,,,\n";
    let outcome = import_csv(csv.as_bytes(), &defaults()).unwrap();
    assert_eq!(outcome.format, ImportFormat::Generic);
    assert!(outcome.rejected.is_empty(), "{:?}", outcome.rejected);
    assert_eq!(outcome.cases.len(), 2);

    let create = &outcome.cases[0];
    assert_eq!(create.row, 2);
    assert_eq!(create.name, "Create user");
    assert_eq!(create.description.as_deref(), Some("Makes a user"));
    assert_eq!(create.tags, vec!["users", "smoke"]);
    assert!(!create.active);
    assert_eq!(create.priority, Some(3));
    let spec = http(create);
    assert_eq!(spec.request.method, HttpMethod::Post);
    assert_eq!(spec.request.url, "https://api.example.com/users");
    assert_eq!(
        spec.request.headers,
        vec![
            KeyValue {
                name: "Authorization".into(),
                value: "Bearer {{token}}".into()
            },
            KeyValue {
                name: "X-Num".into(),
                value: "7".into()
            },
        ]
    );
    assert_eq!(
        spec.request
            .body
            .as_ref()
            .and_then(|b| b.json.as_ref())
            .map(|j| &j.0),
        Some(&serde_json::json!({"name": "ann"}))
    );
    assert_eq!(spec.assertions[0], status_equals(201));
    assert_eq!(keywords(create).unwrap(), vec!["id", "name"]);
    assert_eq!(spec.request.timeout_ms, 30_000);
    assert!(spec.request.follow_redirects);

    let home = &outcome.cases[1];
    assert_eq!(home.row, 3);
    assert!(home.active);
    assert_eq!(home.priority, None);
    assert_eq!(home.description, None);
    assert!(home.tags.is_empty());
    let spec = http(home);
    assert_eq!(spec.request.method, HttpMethod::Get);
    let headers: Vec<(&str, &str)> = spec
        .request
        .headers
        .iter()
        .map(|h| (h.name.as_str(), h.value.as_str()))
        .collect();
    assert_eq!(
        headers,
        vec![
            ("Accept", "text/html; charset=utf-8"),
            ("X-Trace", "1"),
            ("Cookie", "a=1; b=2"),
        ]
    );
    assert_eq!(
        spec.request.body.as_ref().and_then(|b| b.text.as_deref()),
        Some("hello world")
    );
    assert!(spec.assertions.is_empty());
}

#[test]
fn rejected_rows_name_their_row_and_column() {
    // Row numbers as a spreadsheet shows them: the blank line is row 3, the
    // quoted two-line cell keeps row 4 one row, fully empty rows are skipped.
    let csv = "name,method,url,headers,expected_status,priority\n\
            ok one,GET,http://a/1,,200,\n\
            \n\
            \"two\nlines\",GET,http://a/2,,,\n\
            bad method,FETCH,http://a/3,,,\n\
            ,GET,http://a/4,,,\n\
            bad status,GET,http://a/5,,abc,\n\
            ,,,,,\n\
            bad headers,GET,http://a/6,\"{\"\"A\"\": \",,\n\
            bad url,GET,ftp://a/7,,700,x\n\
            no url,GET,,,,\n\
            ok two,DELETE,http://a/8\n";
    let outcome = import_csv(csv.as_bytes(), &defaults()).unwrap();
    let names: Vec<(usize, &str)> = outcome
        .cases
        .iter()
        .map(|c| (c.row, c.name.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![(2, "ok one"), (4, "two\nlines"), (12, "ok two")]
    );
    assert_eq!(
        rejected(&outcome),
        vec![
            (5, Some("method")),
            (6, Some("name")),
            (7, Some("expected_status")),
            (9, Some("headers")),
            (10, Some("url")),
            (10, Some("expected_status")),
            (10, Some("priority")),
            (11, Some("url")),
        ]
    );
    assert!(outcome.rejected[0].reason.contains("FETCH"));
    assert!(outcome.rejected[3].reason.contains("malformed JSON"));
    // The same file with Windows line ends numbers its rows the same way.
    let crlf = import_csv(csv.replace('\n', "\r\n").as_bytes(), &defaults()).unwrap();
    let rows: Vec<usize> = crlf.cases.iter().map(|c| c.row).collect();
    assert_eq!(rows, vec![2, 4, 12]);
    assert_eq!(rejected(&crlf), rejected(&outcome));
}

#[test]
fn unknown_or_missing_header_is_a_file_error() {
    let error = import_csv(b"title,link\nx,y\n", &defaults()).unwrap_err();
    assert_eq!(
        error,
        ImportError::UnknownColumns {
            found: vec!["title".into(), "link".into()]
        }
    );
    let message = error.to_string();
    assert!(message.contains("`question`") && message.contains("`name` and `url`"));
    // `name` alone is not enough for the generic set.
    assert!(matches!(
        import_csv(b"name,method\nx,GET\n", &defaults()),
        Err(ImportError::UnknownColumns { .. })
    ));
    assert_eq!(import_csv(b"", &defaults()), Err(ImportError::NoHeader));
    assert_eq!(
        import_csv(b"\n,,\n", &defaults()),
        Err(ImportError::NoHeader)
    );
    assert_eq!(
        import_csv(b"name,url,NAME\n", &defaults()),
        Err(ImportError::DuplicateColumn {
            column: "name".into()
        })
    );
    assert_eq!(
        import_csv(b"question\n\xC4\xE3\xBA\xC3\n", &defaults()),
        Err(ImportError::NotUtf8 { row: 2 })
    );
    assert!(matches!(
        import_xlsx(b"not a workbook", &defaults()),
        Err(ImportError::Xlsx(_))
    ));
    assert!(matches!(
        import_json(b"{\"name\": 1}"),
        Err(ImportError::Json(_))
    ));
    assert!(matches!(import_json(b"  "), Err(ImportError::Json(_))));
}

#[test]
fn semicolon_and_tab_delimited_files_are_recognised() {
    let outcome = import_csv(b"name;url;tags\nx;http://a/;a,b\n", &defaults()).unwrap();
    assert_eq!(outcome.cases[0].tags, vec!["a", "b"]);
    let outcome = import_csv(b"question\texpected_keywords\nq\tk1,k2\n", &defaults()).unwrap();
    assert_eq!(keywords(&outcome.cases[0]).unwrap(), vec!["k1", "k2"]);
}

#[test]
fn bodies_and_pairs_read_as_documented() {
    let json = body_from("[1, 2]", None).unwrap();
    assert_eq!(json.json.map(|j| j.0), Some(serde_json::json!([1, 2])));
    let text = body_from("{not json", None).unwrap();
    assert_eq!(text.text.as_deref(), Some("{not json"));
    let text = body_from("123", Some(BodyType::Text)).unwrap();
    assert_eq!(text.text.as_deref(), Some("123"));
    assert!(body_from("{", Some(BodyType::Json)).is_err());
    let form = body_from("a=1&b=x y\nc", Some(BodyType::Form)).unwrap();
    assert_eq!(
        form.form.unwrap(),
        vec![
            KeyValue {
                name: "a".into(),
                value: "1".into()
            },
            KeyValue {
                name: "b".into(),
                value: "x y".into()
            },
            KeyValue {
                name: "c".into(),
                value: String::new()
            },
        ]
    );
    assert!(parse_pairs("no colon here", PairStyle::Header).is_err());
    assert!(parse_pairs("Bad Name: x", PairStyle::Header).is_err());
    assert!(parse_pairs("{\"A\": [1]}", PairStyle::Header).is_err());
    let repeated = parse_pairs(
        "{\"B\": \"1\", \"A\": \"2\", \"B\": \"3\"}",
        PairStyle::Header,
    )
    .unwrap();
    let names: Vec<&str> = repeated.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, vec!["B", "A", "B"]);
    let variable = parse_pairs("{{header}}: v; X: 1", PairStyle::Header).unwrap();
    assert_eq!(variable.len(), 2);
}

#[test]
fn xlsx_first_sheet_imports_with_sheet_row_numbers() -> Result<(), Box<dyn std::error::Error>> {
    use rust_xlsxwriter::Workbook;
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    // Header on row 2 (index 1): row 1 stays empty, as users sometimes leave it.
    for (col, title) in [
        "name",
        "url",
        "expected_status",
        "active",
        "priority",
        "keywords",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(1, u16::try_from(col)?, *title)?;
    }
    sheet.write_string(2, 0, "Numbers as numbers")?;
    sheet.write_string(2, 1, "https://x.test/a")?;
    sheet.write_number(2, 2, 204)?;
    sheet.write_boolean(2, 3, false)?;
    sheet.write_number(2, 4, 7)?;
    sheet.write_string(2, 5, "ok、done")?;
    // Row index 3 left empty: skipped.
    sheet.write_string(4, 0, "Bad status")?;
    sheet.write_string(4, 1, "https://x.test/b")?;
    sheet.write_number(4, 2, 99.5)?;
    sheet.write_string(5, 0, "Plain")?;
    sheet.write_string(5, 1, "https://x.test/c")?;
    workbook
        .add_worksheet()
        .write_string(0, 0, "second sheet is ignored")?;
    let bytes = workbook.save_to_buffer()?;

    let outcome = import_xlsx(&bytes, &defaults())?;
    assert_eq!(outcome.format, ImportFormat::Generic);
    assert_eq!(outcome.cases.len(), 2);
    let first = &outcome.cases[0];
    assert_eq!(first.row, 3);
    assert_eq!(first.name, "Numbers as numbers");
    assert!(!first.active);
    assert_eq!(first.priority, Some(7));
    assert_eq!(http(first).assertions[0], status_equals(204));
    assert_eq!(keywords(first).unwrap(), vec!["ok", "done"]);
    assert_eq!(outcome.cases[1].row, 6);
    assert!(outcome.cases[1].active);
    assert_eq!(rejected(&outcome), vec![(5, Some("expected_status"))]);

    // import_file picks the reader by extension, or by content.
    let by_name = import_file("Cases.XLSX", &bytes, &defaults())?;
    assert_eq!(by_name, outcome);
    let sniffed = import_file("upload", &bytes, &defaults())?;
    assert_eq!(sniffed, outcome);
    Ok(())
}

#[test]
fn xlsx_legacy_sheet_and_empty_sheet() -> Result<(), Box<dyn std::error::Error>> {
    use rust_xlsxwriter::Workbook;
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_string(0, 0, "question")?;
    sheet.write_string(0, 1, "expected_keywords")?;
    sheet.write_string(0, 2, "is_active")?;
    sheet.write_number(1, 0, 42)?;
    sheet.write_string(1, 1, "答案，四十二")?;
    sheet.write_string(1, 2, "是")?;
    sheet.write_string(2, 2, "maybe")?;
    let outcome = import_xlsx(&workbook.save_to_buffer()?, &defaults())?;
    assert_eq!(outcome.format, ImportFormat::Question);
    assert_eq!(outcome.cases.len(), 1);
    assert_eq!(outcome.cases[0].name, "42");
    assert_eq!(keywords(&outcome.cases[0]).unwrap(), vec!["答案", "四十二"]);
    assert_eq!(
        rejected(&outcome),
        vec![(3, Some("question")), (3, Some("is_active"))]
    );

    let mut empty = Workbook::new();
    empty.add_worksheet();
    assert_eq!(
        import_xlsx(&empty.save_to_buffer()?, &defaults()),
        Err(ImportError::NoHeader)
    );
    Ok(())
}

#[test]
fn json_rows_are_checked_one_by_one() {
    let json = br#"[
            {"name": "ok", "spec": {"http": {"request": {"method": "GET", "url": "http://a/"}}}},
            7,
            {"spec": {"http": {"request": {"method": "GET", "url": "http://a/"}}}},
            {"name": "bad", "spec": {"http": {"request": {"method": "FETCH", "url": "x"}}}},
            {"name": "none", "spec": {}},
            {"name": "types", "tags": "a", "active": "yes", "priority": 1.5,
             "spec": {"ui": {"steps": []}}}
        ]"#;
    let outcome = import_json(json).unwrap();
    assert_eq!(outcome.format, ImportFormat::Json);
    assert_eq!(outcome.cases.len(), 1);
    assert_eq!(outcome.cases[0].row, 1);
    assert!(outcome.cases[0].active);
    assert_eq!(http(&outcome.cases[0]).request.timeout_ms, 30_000);
    assert_eq!(
        rejected(&outcome),
        vec![
            (2, None),
            (3, Some("name")),
            (4, Some("spec")),
            (5, Some("spec")),
            (6, Some("tags")),
            (6, Some("active")),
            (6, Some("priority")),
        ]
    );
}

#[test]
fn ten_thousand_rows_import() {
    let mut csv = String::from(
        "name,method,url,headers,body,expected_status,keywords,tags,description,active,priority\n",
    );
    for i in 0..10_000 {
        csv.push_str(&format!(
                "case {i},POST,{{{{baseUrl}}}}/items/{i},\"Accept: application/json\nX-Id: {i}\",\"{{\"\"id\"\": {i}, \"\"tags\"\": [\"\"a\"\", \"\"b\"\"]}}\",200,\"ok,id {i}\",\"bulk, n{i}\",row {i},yes,{}\n",
                i % 5
            ));
    }
    let started = std::time::Instant::now();
    let outcome = import_csv(csv.as_bytes(), &defaults()).unwrap();
    let elapsed = started.elapsed();
    println!(
        "imported {} rows ({} bytes) in {elapsed:?}",
        outcome.cases.len(),
        csv.len()
    );
    assert!(
        outcome.rejected.is_empty(),
        "{:?}",
        outcome.rejected.first()
    );
    assert_eq!(outcome.cases.len(), 10_000);
    assert_eq!(outcome.cases[9_999].row, 10_001);
    assert_eq!(outcome.cases[9_999].name, "case 9999");
    let body = http(&outcome.cases[42]).request.body.clone().unwrap();
    assert_eq!(body.json.unwrap().0["id"], 42);

    let mut legacy = String::from("question,expected_keywords,is_active\n");
    for i in 0..10_000 {
        legacy.push_str(&format!("问题 {i}？,关键词{i}，答案,是\n"));
    }
    let started = std::time::Instant::now();
    let outcome = import_csv(legacy.as_bytes(), &defaults()).unwrap();
    println!(
        "imported {} legacy rows in {:?}",
        outcome.cases.len(),
        started.elapsed()
    );
    assert_eq!(outcome.cases.len(), 10_000);
}

#[test]
fn excel_error_cells_reject_their_row() {
    let cells = vec![
        SheetCell::Text(Cow::Borrowed("name")),
        SheetCell::Error("#N/A".to_owned()),
    ];
    let layout = Layout::detect(["name", "url"].into_iter()).unwrap();
    let mut outcome = ImportOutcome {
        format: layout.format,
        cases: Vec::new(),
        rejected: Vec::new(),
    };
    import_row(&layout, &defaults(), 4, &cells, &mut outcome);
    assert_eq!(rejected(&outcome), vec![(4, Some("url"))]);
    assert!(outcome.rejected[0].reason.contains("#N/A"));
}
