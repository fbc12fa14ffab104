//! Scoring real executions: a group of samples of one problem run traced, localized and
//! compared with the reference, then credited.

use std::ops::Range;

use tracealign_core::formats::problems::parse_problems;
use tracealign_core::{Execution, Problem, Sample};
use tracealign_exec::{resolve_python, TraceMode};
use tracealign_pipeline::{ExecSettings, NoProgress, Workers};
use tracealign_rl::rollout::{Candidate, Scoring};
use tracealign_rl::{assign, Credit, CreditSettings, SignalShare};

const PROBLEM: &str = r#"[{"id": "t/total", "language": "python", "prompt": "def total(xs):\n",
 "entry_point": "total",
 "reference": "def total(xs):\n    s = 0\n    for i in range(len(xs)):\n        s = s + xs[i]\n    return s\n",
 "tests": [{"name": "t1", "input": [[1, 2, 3]], "expected": 6}, {"name": "t2", "input": [[5]], "expected": 5},
           {"name": "t3", "input": [[]], "expected": 0}]}]"#;

/// Whitespace-separated pieces as tokens (each with the whitespace before it).
fn spans(text: &str) -> Vec<Range<usize>> {
    let chars: Vec<char> = text.chars().collect();
    let mut spans = Vec::new();
    let mut start = 0;
    for k in 1..=chars.len() {
        let boundary =
            k == chars.len() || (chars[k].is_whitespace() && !chars[k - 1].is_whitespace());
        if boundary {
            spans.push(start..k);
            start = k;
        }
    }
    spans
}

fn candidate(id: &str, completion: &str) -> Candidate {
    Candidate {
        problem_id: "t/total".into(),
        sample_id: id.into(),
        prompt: "def total(xs):\n".into(),
        completion: completion.into(),
        spans: spans(completion),
    }
}

/// The tokens' text in `range`.
fn text_of(candidate: &Candidate, range: Range<usize>) -> String {
    let chars: Vec<char> = candidate.completion.chars().collect();
    candidate.spans[range]
        .iter()
        .map(|s| chars[s.clone()].iter().collect::<String>())
        .collect()
}

#[test]
fn an_off_by_one_loop_is_blamed_on_its_header_and_differing_failures_carry_signal() {
    let problems: Vec<Problem> = parse_problems(std::path::Path::new("t"), PROBLEM, None).unwrap();
    let mut settings = ExecSettings::new(resolve_python(None).unwrap());
    settings.config.workers = 1;
    settings.cache_dir = None;
    let workers = Workers {
        settings: &settings,
        progress: &NoProgress,
    };
    let executor = workers.start(TraceMode::Full).unwrap();
    let prepared = workers.prepare(&executor, &problems).unwrap();
    let mut references: Vec<Execution> = Vec::new();
    executor.run(&prepared, &[Sample::reference(&problems[0])], |e| {
        references.push(e)
    });
    let scoring = Scoring {
        settings: &settings,
        executor: &executor,
        problems: &problems,
        prepared: &prepared,
        references: &references,
    };
    let group = [
        candidate(
            "off-by-one",
            "    s = 0\n    for i in range(len(xs) - 1):\n        s = s + xs[i]\n    return s\n",
        ),
        candidate(
            "doubled",
            "    s = 0\n    for i in range(len(xs)):\n        s = s + 2 * xs[i]\n    return s\n",
        ),
    ];
    let scored = scoring.score(&group, Credit::Divergence).unwrap();
    assert!(scored.iter().all(|s| !s.rollout.passed));
    // Both fail t1 and t2 and pass t3 (the empty list): equal pass ratios.
    assert_eq!(scored[0].rollout.reward, scored[1].rollout.reward);
    let span = scored[0].rollout.divergence.clone().expect("a divergence");
    let header = text_of(&group[0], span);
    assert!(
        header.contains("for i in range(len(xs) - 1):"),
        "{header:?}"
    );
    let doubled = scored[1].rollout.divergence.clone().expect("a divergence");
    assert!(text_of(&group[1], doubled).contains("s = s + 2 * xs[i]"));
    // The suspicion is on each one's own faulty line.
    assert!(scored
        .iter()
        .all(|s| s.rollout.suspicion.iter().any(|v| *v > 0.0)));

    let rollouts: Vec<_> = scored.iter().map(|s| s.rollout.clone()).collect();
    let settings = CreditSettings::default();
    let sequence = assign(Credit::Sequence, &rollouts, &settings);
    assert_eq!(SignalShare::of(&[sequence]).groups, 0.0);
    for credit in [Credit::Fault, Credit::Divergence] {
        let credits = assign(credit, &rollouts, &settings);
        assert_ne!(credits[0].advantages, credits[1].advantages, "{credit:?}");
        assert_eq!(SignalShare::of(&[credits]).groups, 1.0, "{credit:?}");
    }
}
