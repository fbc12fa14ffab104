//! Recency: on a failing test, lines that ran last are nearer the failure (a wrong result
//! is computed at the end; an infinite loop or crash is where the run stopped). Score = how
//! late in the trace the line last ran, in 0..=1, averaged over failing tests with traces.
//! Weak alone; in the combination it orders lines the other signals leave tied.

use std::collections::HashMap;

use crate::evidence::{LineScores, Run};

pub fn recency_scores(run: &Run) -> LineScores {
    let traces: Vec<_> = run.failing_tests().filter_map(|t| run.trace(t)).collect();
    let mut scores = LineScores::new();
    for trace in &traces {
        let events = trace.events.len().max(1) as f64;
        let mut last: HashMap<u32, usize> = HashMap::new();
        for (step, event) in trace.events.iter().enumerate() {
            last.insert(event.line, step + 1);
        }
        for (line, step) in last {
            *scores.entry(line).or_default() += step as f64 / events / traces.len() as f64;
        }
    }
    scores
}
