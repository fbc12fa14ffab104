//! Scoring localizations against known faulty lines: top-k (a hit when any faulty line ranks
//! within k, ties counted pessimistically) and EXAM (the share of code lines examined, in
//! ranked order, before reaching a faulty line; lower is better).

use serde::{Deserialize, Serialize};
use tracealign_core::FaultReport;

/// Accuracy of one method over many cases (means; `top_k` in 0..=1).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Accuracy {
    pub cases: usize,
    pub top1: f64,
    pub top3: f64,
    pub top5: f64,
    pub exam: f64,
}

/// One case's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaseScore {
    pub top1: f64,
    pub top3: f64,
    pub top5: f64,
    pub exam: f64,
}

impl CaseScore {
    /// A report against the faulty lines. EXAM counts the lines ranked above the first
    /// faulty one; a fault on no candidate line (it cannot be found) is a miss with EXAM 1.
    pub fn of(report: &FaultReport, faulty: &[u32]) -> CaseScore {
        CaseScore::from_rank(report.best_rank(faulty), report.lines.len())
    }

    /// From the best (pessimistic) rank of a faulty line among `lines` candidate lines.
    pub fn from_rank(rank: Option<usize>, lines: usize) -> CaseScore {
        let lines = lines.max(1);
        let rank = rank.unwrap_or(usize::MAX);
        let hit = |k: usize| f64::from(u8::from(rank <= k));
        CaseScore {
            top1: hit(1),
            top3: hit(3),
            top5: hit(5),
            exam: (rank.min(lines + 1) - 1) as f64 / lines as f64,
        }
    }

    /// What a uniformly random order of `lines` code lines scores in expectation when
    /// `faulty` of them are faulty.
    pub fn random(lines: usize, faulty: usize) -> CaseScore {
        if faulty == 0 || lines == 0 {
            return CaseScore {
                top1: 0.0,
                top3: 0.0,
                top5: 0.0,
                exam: 1.0,
            };
        }
        // P(no faulty line among the first k) = C(n - g, k) / C(n, k).
        let miss = |k: usize| -> f64 {
            (0..k.min(lines))
                .map(|i| (lines - faulty).saturating_sub(i) as f64 / (lines - i) as f64)
                .product()
        };
        // Expected rank of the first of `faulty` among `lines`: (n + 1) / (g + 1).
        let first_rank = (lines + 1) as f64 / (faulty + 1) as f64;
        CaseScore {
            top1: 1.0 - miss(1),
            top3: 1.0 - miss(3),
            top5: 1.0 - miss(5),
            exam: (first_rank - 1.0) / lines as f64,
        }
    }
}

impl Accuracy {
    pub fn add(&mut self, case: CaseScore) {
        let n = self.cases as f64;
        let mean = |old: f64, new: f64| (old * n + new) / (n + 1.0);
        self.top1 = mean(self.top1, case.top1);
        self.top3 = mean(self.top3, case.top3);
        self.top5 = mean(self.top5, case.top5);
        self.exam = mean(self.exam, case.exam);
        self.cases += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracealign_core::LineFault;

    fn report(scores: &[(u32, f64)]) -> FaultReport {
        FaultReport {
            problem_id: "p".into(),
            sample_id: "s".into(),
            model: None,
            method: "m".into(),
            passed: false,
            code: String::new(),
            lines: scores
                .iter()
                .map(|&(line, score)| LineFault {
                    line,
                    score,
                    signals: vec![],
                })
                .collect(),
            spans: vec![],
        }
    }

    #[test]
    fn a_tie_at_the_top_is_not_a_top1_hit() {
        let r = report(&[(2, 1.0), (3, 1.0), (1, 0.0), (4, 0.0)]);
        let case = CaseScore::of(&r, &[3]);
        assert_eq!((case.top1, case.top3, case.exam), (0.0, 1.0, 0.25));
        let missing = CaseScore::of(&r, &[9]);
        assert_eq!((missing.top5, missing.exam), (0.0, 1.0));
    }

    #[test]
    fn random_order_expectation() {
        // 4 lines, 1 faulty: top-1 1/4, top-3 3/4, expected first rank 5/2 → EXAM 1.5/4.
        let case = CaseScore::random(4, 1);
        assert!((case.top1 - 0.25).abs() < 1e-12);
        assert!((case.top3 - 0.75).abs() < 1e-12);
        assert!((case.exam - 0.375).abs() < 1e-12);
        // 3 lines, 2 faulty: top-1 2/3, top-3 1.
        let case = CaseScore::random(3, 2);
        assert!((case.top1 - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(case.top3, 1.0);
        let mut all = Accuracy::default();
        all.add(CaseScore::random(4, 1));
        all.add(CaseScore::random(3, 2));
        assert_eq!(all.cases, 2);
        assert!((all.top3 - 0.875).abs() < 1e-12);
    }
}
