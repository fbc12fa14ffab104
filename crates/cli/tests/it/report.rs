//! The HTML report of a real pipeline run: its sections, and a rendering in headless
//! Chromium with no console messages and a screenshot that is not blank.
//!
//! Chromium is Debian's `chromium` package; `.ci/run` installs it and sets
//! TRACEALIGN_REQUIRE_CHROMIUM=1, so there the browser check fails instead of skipping.

use std::path::Path;
use std::process::Command;

use crate::pipeline::{pipeline, setup};
use crate::workspace::Workspace;

#[test]
fn report_shows_every_section_of_a_pipeline_run() {
    let ws = Workspace::new();
    setup(&ws);
    pipeline(&ws);
    let html = std::fs::read_to_string(ws.path("out/report.html")).unwrap();
    for part in [
        "id=\"evaluation\"",
        "pass@1",
        "Outcome of each sample",
        "id=\"localization\"",
        "random order (expected)",
        "id=\"programs\"",
        "first divergence",
        "Trace of the failing test",
        "id=\"weights\"",
        "id=\"files\"",
    ] {
        assert!(html.contains(part), "the report lacks `{part}`");
    }
    // Self-contained: nothing is fetched when it opens.
    for remote in ["src=\"http", "href=\"http", "<script", "@import"] {
        assert!(!html.contains(remote), "the report refers to `{remote}`");
    }
    // The failing sample's faulty comparison is the most suspicious line, shaded darkest.
    assert!(html.contains("x &gt; 1"));

    let Some(chromium) = chromium() else {
        assert!(
            std::env::var("TRACEALIGN_REQUIRE_CHROMIUM").is_err(),
            "TRACEALIGN_REQUIRE_CHROMIUM is set but no chromium is installed"
        );
        eprintln!("skipping the browser check: no `chromium` on PATH (apt-get install chromium)");
        return;
    };
    let screenshot = ws.path("report.png");
    let console = render(
        &chromium,
        &ws.path("out/report.html"),
        &screenshot,
        ws.path("profile").as_path(),
    );
    assert!(console.is_empty(), "console messages: {console:?}");
    let png = std::fs::read(&screenshot).expect("a screenshot");
    assert_eq!(&png[1..4], b"PNG");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (1280, 1000));
    // A blank 1280×1000 page compresses to a few kilobytes; text, tables and charts do not.
    assert!(
        png.len() > 60_000,
        "screenshot of {} bytes looks blank",
        png.len()
    );
    let kept = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-first-page.png");
    let _ = std::fs::copy(&screenshot, kept);
}

fn chromium() -> Option<String> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| {
            Command::new(name)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(String::from)
}

/// Opens `page` headless, takes a screenshot of its first 1000 pixels, and returns the
/// console messages Chromium logged (errors included).
fn render(chromium: &str, page: &Path, screenshot: &Path, profile: &Path) -> Vec<String> {
    let output = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,1000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|line| line.contains(":CONSOLE"))
        .map(String::from)
        .collect()
}
