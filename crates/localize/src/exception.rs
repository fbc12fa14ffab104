//! Exception-site localization: the line that raised, and (at half weight) the lines of the
//! candidate's frames the exception passed through on its way out (the calls that led there).

use tracealign_core::{EventKind, ProgramStatus};

use crate::evidence::{LineScores, Run};

/// Score per line: over failing tests, the share where the line raised, plus half the share
/// where it is a frame above the raise.
pub fn exception_scores(run: &Run) -> LineScores {
    let mut scores = LineScores::new();
    if let ProgramStatus::SyntaxError {
        line: Some(line), ..
    } = run.execution.status
    {
        scores.insert(line, 1.0);
        return scores;
    }
    let failing: Vec<usize> = run.failing_tests().collect();
    let share = 1.0 / failing.len().max(1) as f64;
    for test in failing {
        let Some(raised) = run.error_line(test) else {
            continue;
        };
        *scores.entry(raised).or_default() += share;
        for line in frames_above(run, test, raised) {
            *scores.entry(line).or_default() += share / 2.0;
        }
    }
    scores
}

/// Lines of the exception events of the last raise in the test's trace, other than the
/// raising line: the frames it unwound through.
fn frames_above(run: &Run, test: usize, raised: u32) -> Vec<u32> {
    let Some(trace) = run.trace(test) else {
        return vec![];
    };
    let tail = trace
        .events
        .iter()
        .rev()
        .take_while(|e| e.kind == EventKind::Exception || e.kind == EventKind::Return);
    let mut lines: Vec<u32> = tail
        .filter(|e| e.kind == EventKind::Exception && e.line != raised)
        .map(|e| e.line)
        .collect();
    lines.sort_unstable();
    lines.dedup();
    lines
}
