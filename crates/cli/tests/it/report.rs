//! The HTML report of a real pipeline run (two models, mutants): its sections, and a
//! rendering in headless Chromium: the script runs, no console messages, and screenshots of
//! the top, the per-problem table, a failing program, the model comparison and the mutants
//! that are not blank (kept in the target directory's tmp folder to look at).
//!
//! Chromium is Debian's `chromium` package; `.ci/run` installs it and sets
//! TRACEALIGN_REQUIRE_CHROMIUM=1, so there the browser check fails instead of skipping.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value as Json};

use crate::pipeline::{pipeline, setup};
use crate::workspace::Workspace;

/// The pipeline on one problem with two models' programs (each model one failing and one
/// passing program) and two mutants.
fn two_models(ws: &Workspace) {
    setup(ws);
    let reference = std::fs::read_to_string(ws.path("problems.jsonl")).unwrap();
    let reference: Json = serde_json::from_str(reference.lines().next().unwrap()).unwrap();
    let code = reference["reference"].as_str().unwrap();
    let sample = |id: &str, model: &str, from: &str, to: &str| json!({"problem_id": "sum", "sample_id": id, "model": model, "code": code.replace(from, to)});
    ws.write_jsonl(
        "samples.jsonl",
        &[
            sample("bug", "m", "x > 0", "x > 1"),
            sample("ok", "m", "x > 0", "x >= 1"),
            sample("crash", "n", "total += x", "total += xs[9]"),
            sample("fine", "n", "x > 0", "0 < x"),
        ],
    );
    pipeline(ws);
}

#[test]
fn report_shows_every_section_of_a_pipeline_run() {
    let ws = Workspace::new();
    two_models(&ws);
    let html = std::fs::read_to_string(ws.path("out/report.html")).unwrap();
    for part in [
        "id=\"evaluation\"",
        "pass@1",
        "id=\"categories\"",
        "id=\"models\"",
        "id=\"problems\"",
        "id=\"localization\"",
        "random order (expected)",
        "id=\"programs\"",
        "id=\"mutants\"",
        "first divergence",
        "Trace of the failing test",
        "id=\"weights\"",
        "id=\"files\"",
    ] {
        assert!(html.contains(part), "the report lacks `{part}`");
    }
    // Self-contained: nothing is fetched when it opens.
    for remote in ["src=\"http", "href=\"http", "<script src", "@import"] {
        assert!(!html.contains(remote), "the report refers to `{remote}`");
    }
    // The user's two failing programs and the two mutants, apart; the mutants' faulty lines
    // marked and ranked.
    assert_eq!(
        html.matches("<details class=\"program item\" id=\"p")
            .count(),
        2
    );
    assert_eq!(
        html.matches("<details class=\"program item\" id=\"m")
            .count(),
        2
    );
    assert!(html.contains("class=\"row faulty"), "no faulty line marked");
    assert!(html.contains("faulty line ranked"));
    // The comparison: each model 1 of 2 passed on the one problem; the table links the
    // first failing program from its most suspicious line.
    assert!(
        html.contains("<td>m</td><td>2</td><td>1</td>"),
        "model m's row"
    );
    assert!(
        html.contains("<td>n</td><td>2</td><td>1</td>"),
        "model n's row"
    );
    assert!(
        html.contains("<td>1/2</td><td>1/2</td>"),
        "per-model columns"
    );
    assert!(html.contains("<a href=\"#p0\">bug</a> line 4: <code>if x &gt; 1:</code>"));
    // `passed` is an outcome, not a failure category.
    let categories = section(&html, "categories");
    assert!(categories.contains("wrong_answer") && !categories.contains(">passed<"));

    let Some(chromium) = chromium() else {
        assert!(
            std::env::var("TRACEALIGN_REQUIRE_CHROMIUM").is_err(),
            "TRACEALIGN_REQUIRE_CHROMIUM is set but no chromium is installed"
        );
        eprintln!("skipping the browser check: no `chromium` on PATH (apt-get install chromium)");
        return;
    };
    // The script pages and filters: after it ran, the controls show and say what is shown.
    let dom = dump_dom(&chromium, &ws.path("out/report.html"), &ws.path("profile"));
    assert!(
        !dom.contains("<div class=\"controls\" hidden"),
        "the script did not run"
    );
    assert!(
        dom.contains("<span class=\"where\">1–2 of 2</span>"),
        "pager text"
    );
    // Headless Chromium captures only the top of a page (a scrolled page comes out blank),
    // so each part is shot alone: the page with every other part hidden by one added rule.
    for part in ["top", "problems", "programs", "models", "mutants"] {
        let page = match part {
            "top" => ws.path("out/report.html"),
            part => {
                let alone = format!(
                    "<style>main > section:not([data-part={part}]) {{ display: none; }}</style></head>"
                );
                ws.write(&format!("{part}.html"), &html.replace("</head>", &alone))
            }
        };
        let screenshot = ws.path(&format!("{part}.png"));
        let console = render(&chromium, &page, &screenshot, ws.path("profile").as_path());
        assert!(console.is_empty(), "{part}: console messages: {console:?}");
        let png = std::fs::read(&screenshot).expect("a screenshot");
        assert_eq!(&png[1..4], b"PNG");
        let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
        assert_eq!((width, height), (1280, 1000));
        // A blank 1280×1000 page compresses to about 6 kB; text, tables and charts do not.
        assert!(
            png.len() > 25_000,
            "{part}: a screenshot of {} bytes looks blank",
            png.len()
        );
        let kept = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("report-{part}.png"));
        let _ = std::fs::copy(&screenshot, kept);
    }
}

/// The HTML of the part `data-part="{part}"`.
fn section<'a>(html: &'a str, part: &str) -> &'a str {
    let start = html
        .find(&format!("<section data-part=\"{part}\">"))
        .unwrap();
    let end = html[start..].find("</section>").unwrap();
    &html[start..start + end]
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

/// The page's DOM after its script ran.
fn dump_dom(chromium: &str, page: &Path, profile: &Path) -> String {
    let output = Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).to_string()
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
