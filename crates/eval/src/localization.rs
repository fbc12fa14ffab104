//! How well fault reports point at faults whose location is known (injected mutants).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use tracealign_core::FaultReport;

use crate::accuracy::{Accuracy, CaseScore};

/// Top-k and EXAM of the reports of failing programs with known faulty lines, beside what a
/// random order of the same lines scores.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LocalizationFigures {
    pub accuracy: Accuracy,
    pub random: Accuracy,
}

impl LocalizationFigures {
    /// Scores every failing report whose sample has an entry in `faulty_lines`; `None`
    /// when there is none (no ground truth, so nothing to measure).
    pub fn of(
        reports: &[FaultReport],
        faulty_lines: &HashMap<String, Vec<u32>>,
    ) -> Option<LocalizationFigures> {
        let mut accuracy = Accuracy::default();
        let mut random = Accuracy::default();
        for report in reports.iter().filter(|r| !r.passed) {
            let Some(faulty) = faulty_lines.get(&report.sample_id) else {
                continue;
            };
            accuracy.add(CaseScore::of(report, faulty));
            let candidates = report.lines.len();
            let on_candidates = faulty
                .iter()
                .filter(|&&line| report.rank_of(line).is_some())
                .count();
            random.add(CaseScore::random(candidates, on_candidates));
        }
        (accuracy.cases > 0).then_some(LocalizationFigures { accuracy, random })
    }
}
