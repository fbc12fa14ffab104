//! Rendering traces recorded by the real tracer (see `fixtures/make_fixtures.py`): snapshots
//! of every style on every fixture, and the behaviour of compression and budgets.

use std::collections::HashSet;
use std::path::PathBuf;

use serde::Deserialize;
use tokenizers::models::bpe::{BpeTrainer, BPE};
use tokenizers::models::TrainerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::Tokenizer;
use tracealign_core::{EventKind, Trace, TraceEvent, Vars};
use tracealign_trace::divergence::DivergenceKind;
use tracealign_trace::render::{
    render, CharsPerToken, HfTokenizer, RenderInput, RenderOptions, Rendered, Style, TestContext,
    TokenCounter,
};
use tracealign_trace::Divergence;

const FIXTURES: [&str; 7] = [
    "loop",
    "recursion",
    "exception",
    "generator",
    "class",
    "comprehension",
    "truncated",
];

/// A program, one test's trace of it, and the context the header shows.
#[derive(Deserialize)]
struct Fixture {
    source: String,
    test: FixtureTest,
    trace: Trace,
    #[serde(default)]
    divergence: Option<Divergence>,
}

#[derive(Deserialize)]
struct FixtureTest {
    name: String,
    code: Option<String>,
    outcome: String,
}

fn fixture(name: &str) -> Fixture {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

impl Fixture {
    fn input(&self) -> RenderInput<'_> {
        RenderInput {
            source: &self.source,
            trace: &self.trace,
            test: Some(TestContext {
                name: &self.test.name,
                code: self.test.code.as_deref(),
                outcome: &self.test.outcome,
            }),
            divergence: self.divergence.as_ref(),
        }
    }

    fn render(&self, options: &RenderOptions) -> Rendered {
        render(&self.input(), options, &CharsPerToken)
    }

    /// The lines every rendering must start with: test, its code, the divergence.
    fn head(&self) -> Vec<String> {
        let mut head = vec![format!("test {}: {}", self.test.name, self.test.outcome)];
        head.extend(self.test.code.iter().map(|code| format!("  {code}")));
        head.extend(self.divergence.iter().map(|d| {
            format!(
                "first divergence at line {}: {}",
                d.candidate.line, d.reason
            )
        }));
        head
    }
}

fn style(style: Style) -> RenderOptions {
    RenderOptions {
        style,
        ..RenderOptions::default()
    }
}

/// The snapshot: the text, then what it counted.
fn snapshot(rendered: &Rendered) -> String {
    format!(
        "{}\n\n[{} tokens (chars/4), {} omitted]",
        rendered.text, rendered.tokens, rendered.omitted_events
    )
}

macro_rules! snapshot_every_style {
    ($($test:ident: $fixture:literal,)*) => {$(
        #[test]
        fn $test() {
            let fixture = fixture($fixture);
            for style in Style::ALL {
                let rendered = fixture.render(&self::style(style));
                insta::assert_snapshot!(format!("{}_{style}", $fixture), snapshot(&rendered));
            }
        }
    )*};
}

snapshot_every_style! {
    snapshots_loop: "loop",
    snapshots_recursion: "recursion",
    snapshots_exception: "exception",
    snapshots_generator: "generator",
    snapshots_class: "class",
    snapshots_comprehension: "comprehension",
    snapshots_truncated: "truncated",
}

#[test]
fn snapshots_under_a_budget() {
    for (name, style, budget) in [
        ("truncated", Style::Lines, 110),
        ("truncated", Style::Blocks, 200),
        ("truncated", Style::Inline, 60),
        ("loop", Style::Lines, 120),
        ("recursion", Style::Blocks, 150),
        ("class", Style::Summary, 60),
    ] {
        let options = RenderOptions {
            style,
            budget: Some(budget),
            ..RenderOptions::default()
        };
        let rendered = fixture(name).render(&options);
        assert!(
            rendered.tokens <= budget,
            "{name} {style}: {}",
            rendered.tokens
        );
        insta::assert_snapshot!(
            format!("{name}_{style}_budget_{budget}"),
            snapshot(&rendered)
        );
    }
}

// ---- compression ----

#[test]
fn a_loop_keeps_its_first_and_last_iterations() {
    let fixture = fixture("loop");
    // range(1, 10): nine iterations, totals 2 5 9 14 20 27 35 44 54.
    let rendered = fixture.render(&style(Style::Lines));
    assert!(
        rendered.text.contains("… 5 iterations omitted"),
        "{}",
        rendered.text
    );
    for kept in ["total = 2", "total = 5", "total = 44", "total = 54"] {
        assert!(
            rendered.text.contains(kept),
            "{kept} missing:\n{}",
            rendered.text
        );
    }
    for hidden in ["total = 9\n", "total = 20\n", "total = 35\n"] {
        assert!(
            !rendered.text.contains(hidden),
            "{hidden} shown:\n{}",
            rendered.text
        );
    }
    // Each hidden iteration is two line events.
    assert_eq!(rendered.omitted_events, 10);

    let one = fixture.render(&RenderOptions {
        loop_keep: 1,
        ..style(Style::Lines)
    });
    assert!(one.text.contains("… 7 iterations omitted"), "{}", one.text);
    assert_eq!(one.omitted_events, 14);

    let all = fixture.render(&RenderOptions {
        loop_keep: 5,
        ..style(Style::Lines)
    });
    assert!(!all.text.contains("omitted"), "{}", all.text);
    assert_eq!(all.omitted_events, 0);
}

#[test]
fn blocks_compress_the_same_iterations() {
    let rendered = fixture("loop").render(&style(Style::Blocks));
    assert!(
        rendered.text.contains("… 5 iterations omitted"),
        "{}",
        rendered.text
    );
    assert_eq!(rendered.omitted_events, 10);
}

#[test]
fn a_linear_recursion_keeps_its_outer_and_inner_levels() {
    let rendered = fixture("recursion").render(&style(Style::Lines));
    assert!(
        rendered.text.contains("… 3 recursive calls omitted"),
        "{}",
        rendered.text
    );
    assert!(
        rendered.text.contains("… 3 returns omitted"),
        "{}",
        rendered.text
    );
    for kept in ["fact(n=6)", "fact(n=5)", "fact(n=1)", "fact(n=0)"] {
        assert!(
            rendered.text.contains(kept),
            "{kept} missing:\n{}",
            rendered.text
        );
    }
    assert!(!rendered.text.contains("fact(n=3)"), "{}", rendered.text);
    // Three levels of call, two lines and a return each.
    assert_eq!(rendered.omitted_events, 12);
}

#[test]
fn iterations_with_calls_are_hidden_with_their_calls() {
    // for x in xs (line 2): g(x) (line 3), g's body at line 6; twelve iterations.
    let mut events = vec![event(EventKind::Call, "f", 1, 0)];
    for x in 0..12 {
        events.push(event(EventKind::Line, "f", 2, 0));
        events.push(event(EventKind::Line, "f", 3, 0));
        let mut call = event(EventKind::Call, "g", 5, 1);
        call.args.insert("x".into(), x.to_string());
        events.push(call);
        events.push(event(EventKind::Line, "g", 6, 1));
        let mut back = event(EventKind::Return, "g", 6, 1);
        back.value = Some((x * 2).to_string());
        events.push(back);
    }
    events.push(event(EventKind::Line, "f", 2, 0));
    events.push(event(EventKind::Return, "f", 2, 0));
    let trace = trace(events);
    let source = "def f(xs):\n    for x in xs:\n        g(x)\n\ndef g(x):\n    return x * 2\n";
    let rendered = render(&bare(source, &trace), &style(Style::Lines), &CharsPerToken);
    assert!(
        rendered.text.contains("… 8 iterations omitted"),
        "{}",
        rendered.text
    );
    assert!(rendered.text.contains("call g(x=0)") && rendered.text.contains("call g(x=11)"));
    assert!(!rendered.text.contains("call g(x=5)"), "{}", rendered.text);
    assert_eq!(rendered.omitted_events, 8 * 5);
}

#[test]
fn the_divergence_is_marked_and_never_compressed_away() {
    let fixture = fixture("loop");
    for style in [Style::Lines, Style::Blocks, Style::Inline] {
        let rendered = fixture.render(&self::style(style));
        assert_eq!(
            rendered.text.matches("<- first divergence").count(),
            1,
            "{}",
            rendered.text
        );
    }
}

// ---- what each style says ----

#[test]
fn an_exception_is_shown_where_it_was_raised() {
    let fixture = fixture("exception");
    let lines = fixture.render(&style(Style::Lines)).text;
    assert!(
        lines.contains("exception IndexError: list index out of range at line 5"),
        "{lines}"
    );
    assert!(lines.contains("exits by raising IndexError"), "{lines}");
    let inline = fixture.render(&style(Style::Inline)).text;
    let line_5 = inline.lines().find(|l| l.starts_with("5 |")).unwrap();
    assert!(
        line_5.ends_with("# raised IndexError: list index out of range"),
        "{inline}"
    );
    let summary = fixture.render(&style(Style::Summary)).text;
    assert!(
        summary.contains("raised IndexError: list index out of range at line 5"),
        "{summary}"
    );
}

#[test]
fn changes_are_shown_under_the_line_that_made_them() {
    let text = fixture("class").render(&style(Style::Lines)).text;
    // `acct = Account(start)` runs __init__ first; `acct` is reported after it returns.
    let lines: Vec<&str> = text.lines().collect();
    let assigned = lines
        .iter()
        .position(|l| l.trim() == "acct = Account(10)")
        .unwrap();
    assert!(
        lines[assigned - 1].trim().starts_with("return None"),
        "{text}"
    );
    assert!(lines[..assigned]
        .iter()
        .any(|l| l.contains("line 16  acct = Account(start)")));
}

#[test]
fn inline_marks_lines_that_never_ran() {
    let text = fixture("exception").render(&style(Style::Inline)).text;
    let never: Vec<&str> = text.lines().filter(|l| l.ends_with("never ran")).collect();
    assert_eq!(never.len(), 1, "{text}");
    assert!(never[0].starts_with("8 |     return best"), "{text}");
    // Nothing can be said of lines after a truncated trace's cut.
    let truncated = fixture("truncated").render(&style(Style::Inline)).text;
    assert!(!truncated.contains("never ran"), "{truncated}");
}

#[test]
fn a_truncated_trace_says_so() {
    for style in Style::ALL {
        let rendered = fixture("truncated").render(&self::style(style));
        assert!(
            rendered
                .text
                .contains("… trace truncated after 300 of 2869 events"),
            "{}",
            rendered.text
        );
    }
}

#[test]
fn every_style_starts_with_the_head() {
    for name in FIXTURES {
        let fixture = fixture(name);
        let head = fixture.head().join("\n");
        for style in Style::ALL {
            let text = fixture.render(&self::style(style)).text;
            assert!(text.starts_with(&head), "{name} {style}:\n{text}");
        }
    }
}

#[test]
fn without_test_or_divergence_there_is_no_header() {
    let fixture = fixture("loop");
    let rendered = render(
        &bare(&fixture.source, &fixture.trace),
        &style(Style::Lines),
        &CharsPerToken,
    );
    assert!(rendered.text.starts_with("call f(xs="), "{}", rendered.text);
}

// ---- budgets ----

/// Renders every fixture in every style under each budget, and checks the budget's promise.
fn check_budgets(counter: &dyn TokenCounter, budgets: &[usize]) {
    for name in FIXTURES {
        let fixture = fixture(name);
        let head = fixture.head().join("\n");
        let head_tokens = counter.count(&head);
        for style in Style::ALL {
            for &budget in budgets {
                let options = RenderOptions {
                    style,
                    budget: Some(budget),
                    ..RenderOptions::default()
                };
                let rendered = render(&fixture.input(), &options, counter);
                let context = format!("{name} {style} budget {budget}:\n{}", rendered.text);
                assert!(rendered.text.starts_with(&head), "{context}");
                assert_eq!(rendered.tokens, counter.count(&rendered.text), "{context}");
                if head_tokens <= budget {
                    assert!(
                        rendered.tokens <= budget,
                        "{} tokens; {context}",
                        rendered.tokens
                    );
                } else {
                    assert_eq!(rendered.text, head, "{context}");
                }
            }
        }
    }
}

#[test]
fn budgets_hold_counting_characters() {
    check_budgets(
        &CharsPerToken,
        &[0, 10, 30, 45, 60, 90, 150, 250, 400, 1000],
    );
}

#[test]
fn budgets_hold_with_a_word_level_tokenizer_from_a_file() {
    let counter = word_level_tokenizer();
    check_budgets(&counter, &[0, 20, 50, 80, 120, 200, 400]);
}

#[test]
fn budgets_hold_with_a_bpe_trained_in_process() {
    let counter = bpe_tokenizer();
    check_budgets(&counter, &[0, 25, 60, 100, 180, 300]);
}

#[test]
fn a_budget_shrinks_step_by_step() {
    let fixture = fixture("truncated");
    let full = fixture.render(&style(Style::Lines));
    // Lower loop keep first: the 2-per-end rendering is over, the 1-per-end one fits.
    let keep_one = fixture.render(&RenderOptions {
        loop_keep: 1,
        ..style(Style::Lines)
    });
    let fitted = fixture.render(&RenderOptions {
        budget: Some(keep_one.tokens),
        ..style(Style::Lines)
    });
    assert!(full.tokens > keep_one.tokens);
    assert_eq!(fitted.text, keep_one.text);
    // Then a window around the point of interest, then a cut.
    let windowed = fixture.render(&RenderOptions {
        budget: Some(keep_one.tokens - 20),
        ..style(Style::Lines)
    });
    assert!(
        windowed.text.contains("events omitted"),
        "{}",
        windowed.text
    );
    assert!(!windowed.text.contains("trace cut"), "{}", windowed.text);
    assert!(windowed.omitted_events > keep_one.omitted_events);
    let head_tokens = CharsPerToken.count(&fixture.head().join("\n"));
    let cut = fixture.render(&RenderOptions {
        budget: Some(head_tokens + 12),
        ..style(Style::Lines)
    });
    let closing = format!("\n… (trace cut to fit {} tokens)", head_tokens + 12);
    assert!(cut.text.ends_with(&closing), "{}", cut.text);
}

#[test]
fn the_window_centres_on_the_divergence() {
    let fixture = fixture("loop");
    let rendered = fixture.render(&RenderOptions {
        budget: Some(100),
        ..style(Style::Lines)
    });
    assert!(
        rendered.text.contains("<- first divergence"),
        "{}",
        rendered.text
    );
    assert!(
        rendered.text.contains("events omitted"),
        "{}",
        rendered.text
    );
}

#[test]
fn the_tightest_budget_keeps_the_head() {
    for name in ["loop", "recursion"] {
        let fixture = fixture(name);
        let head = fixture.head().join("\n");
        let exact = CharsPerToken.count(&head);
        for style in Style::ALL {
            for budget in [0, exact - 1, exact] {
                let options = RenderOptions {
                    style,
                    budget: Some(budget),
                    ..RenderOptions::default()
                };
                assert_eq!(
                    fixture.render(&options).text,
                    head,
                    "{name} {style} {budget}"
                );
            }
        }
    }
}

#[test]
fn multibyte_values_survive_every_cut() {
    // Long values of multibyte text, cut by the renderer and by every budget.
    let word = "日本語のテキスト é ü ".repeat(20);
    let mut events = vec![event(EventKind::Call, "f", 1, 0)];
    events[0].args.insert("s".into(), format!("'{word}'"));
    for i in 0..8 {
        events.push(event(EventKind::Line, "f", 2, 0));
        let mut line = event(EventKind::Line, "f", 3, 0);
        line.changed.insert(
            "part".into(),
            format!("'{}'", &word[..word.char_indices().nth(5 + i).unwrap().0]),
        );
        events.push(line);
    }
    let mut raised = event(EventKind::Exception, "f", 3, 0);
    raised.exc_type = Some("ValueError".into());
    raised.message = Some(format!("bad: {word}\nsecond line"));
    events.push(raised);
    events.push(event(EventKind::Return, "f", 3, 0));
    let trace = trace(events);
    let source = "def f(s):\n    for c in s:\n        part = s[:len(part) + 1]  # ü日本\n";
    let divergence = Divergence {
        candidate: trace.events[4].clone(),
        reference: None,
        kind: DivergenceKind::Data,
        reason: "`part` is '日本語のテ' after line 3; the reference has 'é'".into(),
        subject: Some("part".into()),
        actual: Some("'日本語のテ'".into()),
        expected: Some("'é'".into()),
    };
    let input = RenderInput {
        source,
        trace: &trace,
        test: Some(TestContext {
            name: "test_日本",
            code: Some("assert f('日本') == 'é'"),
            outcome: "failed: expected 'é', got '日本'",
        }),
        divergence: Some(&divergence),
    };
    for style in Style::ALL {
        for budget in (0..160).step_by(7).map(Some).chain([None]) {
            let options = RenderOptions {
                style,
                budget,
                ..RenderOptions::default()
            };
            let rendered = render(&input, &options, &CharsPerToken);
            assert!(rendered
                .text
                .starts_with("test test_日本: failed: expected 'é', got '日本'"));
            assert!(rendered
                .text
                .contains("first divergence at line 3: `part` is '日本語のテ' after line 3"));
            // The message's line break is written out, not taken.
            let broken = rendered.text.lines().any(|l| l.starts_with("second line"));
            assert!(!broken, "{}", rendered.text);
        }
    }
}

// ---- helpers ----

fn event(kind: EventKind, func: &str, line: u32, depth: u32) -> TraceEvent {
    TraceEvent {
        step: 0,
        kind,
        func: func.into(),
        line,
        depth,
        args: Vars::new(),
        changed: Vars::new(),
        value: None,
        resumed: false,
        exc_type: None,
        message: None,
    }
}

fn trace(mut events: Vec<TraceEvent>) -> Trace {
    for (step, event) in events.iter_mut().enumerate() {
        event.step = step as u64;
    }
    Trace {
        events_total: events.len() as u64,
        events,
        truncated: false,
    }
}

fn bare<'a>(source: &'a str, trace: &'a Trace) -> RenderInput<'a> {
    RenderInput {
        source,
        trace,
        test: None,
        divergence: None,
    }
}

/// A word-level tokenizer (one token per word or run of punctuation) written as
/// `tokenizer.json` and loaded the way a model's would be.
fn word_level_tokenizer() -> HfTokenizer {
    let vocab: serde_json::Map<String, serde_json::Value> = [
        "[UNK]", "call", "line", "return", "total", "=", "test", "block", "before", "after",
    ]
    .iter()
    .enumerate()
    .map(|(id, word)| (word.to_string(), id.into()))
    .collect();
    let json = serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [],
        "normalizer": null,
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": null,
        "decoder": null,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"}
    });
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("word-level-tokenizer.json");
    std::fs::write(&path, json.to_string()).unwrap();
    let counter = HfTokenizer::from_file(&path).unwrap();
    // call f ( xs =[ 1 , 2 ])
    assert_eq!(counter.count("call f(xs=[1, 2])"), 9);
    counter
}

/// A byte-level BPE trained on the fixtures' programs and traces.
fn bpe_tokenizer() -> HfTokenizer {
    let mut tokenizer = Tokenizer::new(BPE::default());
    tokenizer.with_pre_tokenizer(Some(ByteLevel::default()));
    let alphabet: HashSet<char> = ByteLevel::alphabet().into_iter().collect();
    let mut trainer: TrainerWrapper = BpeTrainer::builder()
        .vocab_size(400)
        .show_progress(false)
        .initial_alphabet(alphabet)
        .build()
        .into();
    let corpus: Vec<String> = FIXTURES
        .iter()
        .map(|name| {
            let fixture = fixture(name);
            format!(
                "{}\n{}",
                fixture.source,
                serde_json::to_string(&fixture.trace).unwrap()
            )
        })
        .collect();
    tokenizer.train(&mut trainer, corpus.iter()).unwrap();
    let counter = HfTokenizer::new(tokenizer);
    let sample = "total = total + xs[i]  # 日本";
    assert!(counter.count(sample) < sample.len(), "merges learned");
    assert!(
        counter.count("日本") >= 2,
        "unseen text falls back to bytes"
    );
    counter
}

#[test]
fn a_trace_at_the_event_cap_renders_within_budget() {
    // 10 000 events: a loop calling a helper, the shape of a long-running candidate.
    let mut events = vec![event(EventKind::Call, "f", 1, 0)];
    for x in 0..2000 {
        events.push(event(EventKind::Line, "f", 2, 0));
        let mut body = event(EventKind::Line, "f", 3, 0);
        body.changed.insert("x".into(), x.to_string());
        events.push(body);
        events.push(event(EventKind::Call, "g", 6, 1));
        events.push(event(EventKind::Line, "g", 7, 1));
        let mut back = event(EventKind::Return, "g", 7, 1);
        back.value = Some(x.to_string());
        events.push(back);
    }
    let mut trace = trace(events);
    trace.truncated = true;
    trace.events_total = 40_000;
    let source = "def f(n):\n    for x in range(n):\n        g(x)\n\n\ndef g(x):\n    return x\n";
    for style in Style::ALL {
        for budget in [None, Some(50), Some(500), Some(5000)] {
            let options = RenderOptions {
                style,
                budget,
                ..RenderOptions::default()
            };
            let rendered = render(&bare(source, &trace), &options, &CharsPerToken);
            let text = &rendered.text;
            assert!(
                budget.is_none_or(|b| rendered.tokens <= b),
                "{style} {budget:?}"
            );
            let noted = text.ends_with("… trace truncated after 10001 of 40000 events");
            assert!(
                noted || text.contains("trace cut"),
                "{style} {budget:?}:\n{text}"
            );
        }
    }
}

#[test]
fn a_runaway_recursion_is_compressed_and_not_indented_away() {
    // `def down(n): return down(n + 1)` cut by the event cap at depth 3000.
    let mut events = Vec::new();
    for depth in 0..3000 {
        let mut call = event(EventKind::Call, "down", 1, depth);
        call.args.insert("n".into(), depth.to_string());
        events.push(call);
        events.push(event(EventKind::Line, "down", 2, depth));
    }
    let mut trace = trace(events);
    trace.truncated = true;
    trace.events_total = 6001;
    let source = "def down(n):\n    return down(n + 1)\n";
    for style in [Style::Lines, Style::Blocks] {
        let rendered = render(&bare(source, &trace), &self::style(style), &CharsPerToken);
        let text = &rendered.text;
        assert!(text.contains("… 2996 recursive calls omitted"), "{text}");
        assert!(text.contains("call down(n=2999)  [depth 2999]"), "{text}");
        let widest = text.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(widest < 80, "{widest} columns:\n{text}");
        assert_eq!(rendered.omitted_events, 2996 * 2);
    }
}
