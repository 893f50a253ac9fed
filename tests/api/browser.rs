//! The GraphiQL page in a real browser: headless Chromium, with every host but
//! the node unresolvable, renders GraphiQL's editors, not "Loading…".

use std::process::Stdio;
use std::time::Duration;

use crate::support::{Backend, TestApp};

/// The Chromium command, if one is installed.
fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| {
            std::process::Command::new(name)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        })
}

/// The page's DOM once scripts have run, as headless Chromium renders it offline.
async fn rendered_dom(browser: &str, url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            // Offline: no name but the node's own address resolves.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            // Let the page load its scripts and render before the DOM is taken.
            "--virtual-time-budget=10000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), output)
        .await
        .expect("Chromium ends in time")
        .expect("Chromium runs");
    let dom = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success() && !dom.is_empty(),
        "Chromium failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    dom
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_renders_offline_in_a_headless_browser() {
    let Some(browser) = chromium() else {
        eprintln!("Chromium is not installed (Debian: apt-get install chromium); GraphiQL browser test not run");
        return;
    };
    let app = TestApp::start(Backend::Sqlite).await;
    let dom = rendered_dom(browser, &app.url("/graphql")).await;
    assert!(!dom.contains("Loading…"), "GraphiQL did not start:\n{dom}");
    for markup in ["graphiql-container", "graphiql-query-editor", "CodeMirror"] {
        assert!(
            dom.contains(markup),
            "no {markup} in the rendered page:\n{dom}"
        );
    }
}
