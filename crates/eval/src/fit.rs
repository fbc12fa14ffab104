//! Fitting the combination's weights: a grid search over [`Weights`] on cases with known
//! faulty lines, maximising top-1 + top-3/2 − EXAM. Run only on our own embedded problems
//! and their mutants (`tracealign bench localize --fit`), never on benchmark data.

use tracealign_localize::{Signals, Weights};

use crate::accuracy::{Accuracy, CaseScore};

/// One program to fit on: its signals, candidate lines and faulty lines.
pub struct FitCase {
    pub signals: Signals,
    pub lines: Vec<u32>,
    pub faulty: Vec<u32>,
}

/// Values tried per weight.
const GRID: [f64; 5] = [0.0, 0.1, 0.3, 0.6, 1.0];

/// The best weights first, with their accuracy (`diff` is held at `diff`: on mutants the
/// diff localizer would see the mutant's origin, so it cannot be fitted there).
pub fn fit(cases: &[FitCase], diff: f64) -> Vec<(Weights, Accuracy)> {
    let mut results = Vec::new();
    for divergence in [0.3, 0.6, 1.0, 2.0] {
        for mutation in GRID {
            for values in [0.0, 0.1] {
                for exception in GRID {
                    for ochiai in GRID {
                        for trivial in [0.0, 0.1] {
                            for recency in [0.0, 0.01, 0.05, 0.1, 0.3] {
                                let weights = Weights {
                                    divergence,
                                    values,
                                    mutation,
                                    exception,
                                    undefined: Weights::DEFAULT.undefined,
                                    diff,
                                    ochiai,
                                    recency,
                                    trivial,
                                };
                                results.push((weights, accuracy(cases, &weights)));
                            }
                        }
                    }
                }
            }
        }
    }
    let objective = |a: &Accuracy| a.top1 + 0.5 * a.top3 - a.exam;
    results.sort_by(|a, b| objective(&b.1).total_cmp(&objective(&a.1)));
    results
}

fn accuracy(cases: &[FitCase], weights: &Weights) -> Accuracy {
    let mut accuracy = Accuracy::default();
    for case in cases {
        let found = case.signals.combine(weights);
        let score = |line: &u32| found.lines.get(line).copied().unwrap_or(0.0);
        let rank = case
            .faulty
            .iter()
            .filter(|l| case.lines.contains(l))
            .map(|f| case.lines.iter().filter(|l| score(l) >= score(f)).count())
            .min();
        accuracy.add(CaseScore::from_rank(rank, case.lines.len()));
    }
    accuracy
}
