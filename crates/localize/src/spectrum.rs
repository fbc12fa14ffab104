//! Spectrum-based fault localization (SBFL): a line run by many failing tests and few
//! passing ones is suspicious. For each line, from the tests' coverage and outcomes:
//! `ef`/`ep` = failing/passing tests that ran it, `nf`/`np` = failing/passing tests that did
//! not. References: Ochiai (Abreu et al. 2006), Tarantula (Jones & Harrold 2005), DStar
//! (Wong et al. 2014, with * = 2).

use std::collections::BTreeMap;

use tracealign_core::Execution;

use crate::rank::LineScore;

/// Per-line counts of passing and failing tests that ran it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Spectrum {
    /// line → (failing tests that ran it, passing tests that ran it)
    pub lines: BTreeMap<u32, (u32, u32)>,
    pub failed_tests: u32,
    pub passed_tests: u32,
}

/// A suspiciousness formula.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Formula {
    Ochiai,
    Tarantula,
    /// DStar with * = 2.
    DStar,
}

impl Spectrum {
    /// From an execution whose tests carry coverage; `None` when none do (the run was not
    /// made with `--trace coverage` or `full`). Tests without coverage (a program that did
    /// not compile, say) are left out.
    pub fn from_execution(execution: &Execution) -> Option<Spectrum> {
        let tests: Vec<(bool, &[u32])> = execution
            .tests
            .iter()
            .filter_map(|t| {
                t.coverage
                    .as_deref()
                    .map(|lines| (t.outcome.is_passed(), lines))
            })
            .collect();
        (!tests.is_empty()).then(|| Spectrum::from_tests(tests))
    }

    /// From `(passed, lines covered)` per test.
    pub fn from_tests<'a>(tests: impl IntoIterator<Item = (bool, &'a [u32])>) -> Spectrum {
        let mut spectrum = Spectrum::default();
        for (passed, lines) in tests {
            if passed {
                spectrum.passed_tests += 1;
            } else {
                spectrum.failed_tests += 1;
            }
            for &line in lines {
                let counts = spectrum.lines.entry(line).or_default();
                if passed {
                    counts.1 += 1;
                } else {
                    counts.0 += 1;
                }
            }
        }
        spectrum
    }

    /// Every covered line's score under `formula`.
    pub fn scores(&self, formula: Formula) -> Vec<LineScore> {
        self.lines
            .iter()
            .map(|(&line, &(ef, ep))| {
                let (nf, np) = (self.failed_tests - ef, self.passed_tests - ep);
                let score = formula.score(ef as f64, ep as f64, nf as f64, np as f64);
                LineScore { line, score }
            })
            .collect()
    }
}

impl Formula {
    /// The suspiciousness of a line with these counts. Undefined ratios (no failing test
    /// at all) score 0; DStar's division by zero (every failing test and no passing test
    /// ran the line) is the highest possible score.
    pub fn score(self, ef: f64, ep: f64, nf: f64, np: f64) -> f64 {
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        match self {
            Formula::Ochiai => ratio(ef, ((ef + nf) * (ef + ep)).sqrt()),
            Formula::Tarantula => {
                let failing = ratio(ef, ef + nf);
                let passing = ratio(ep, ep + np);
                ratio(failing, failing + passing)
            }
            Formula::DStar => match ep + nf {
                d if d > 0.0 => ef * ef / d,
                _ if ef > 0.0 => f64::INFINITY,
                _ => 0.0,
            },
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Formula::Ochiai => "ochiai",
            Formula::Tarantula => "tarantula",
            Formula::DStar => "dstar",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four tests over a five-line program; line 3 is the fault:
    /// t1 fails and runs 1,2,3; t2 fails and runs 1,2,3,5; t3 passes and runs 1,2,4,5;
    /// t4 passes and runs 1,2,3,4.
    fn example() -> Spectrum {
        Spectrum::from_tests([
            (false, &[1, 2, 3][..]),
            (false, &[1, 2, 3, 5][..]),
            (true, &[1, 2, 4, 5][..]),
            (true, &[1, 2, 3, 4][..]),
        ])
    }

    fn score_of(scores: &[LineScore], line: u32) -> f64 {
        scores.iter().find(|s| s.line == line).unwrap().score
    }

    #[test]
    fn counts_per_line() {
        let spectrum = example();
        assert_eq!((spectrum.failed_tests, spectrum.passed_tests), (2, 2));
        assert_eq!(spectrum.lines[&1], (2, 2));
        assert_eq!(spectrum.lines[&3], (2, 1));
        assert_eq!(spectrum.lines[&4], (0, 2));
        assert_eq!(spectrum.lines[&5], (1, 1));
    }

    #[test]
    fn ochiai_matches_hand_computation() {
        let scores = example().scores(Formula::Ochiai);
        // line 3: ef=2, ep=1, nf=0 → 2 / sqrt(2 × 3)
        assert!((score_of(&scores, 3) - 2.0 / 6f64.sqrt()).abs() < 1e-12);
        // line 1: 2 / sqrt(2 × 4) = 0.7071
        assert!((score_of(&scores, 1) - 2.0 / 8f64.sqrt()).abs() < 1e-12);
        // line 5: 1 / sqrt(2 × 2) = 0.5; line 4: 0
        assert!((score_of(&scores, 5) - 0.5).abs() < 1e-12);
        assert_eq!(score_of(&scores, 4), 0.0);
    }

    #[test]
    fn tarantula_matches_hand_computation() {
        let scores = example().scores(Formula::Tarantula);
        // line 3: failing 2/2 = 1, passing 1/2 → 1 / 1.5
        assert!((score_of(&scores, 3) - 2.0 / 3.0).abs() < 1e-12);
        // line 1: 1 / (1 + 1) = 0.5; line 5: 0.5 / (0.5 + 0.5) = 0.5; line 4: 0
        assert!((score_of(&scores, 1) - 0.5).abs() < 1e-12);
        assert!((score_of(&scores, 5) - 0.5).abs() < 1e-12);
        assert_eq!(score_of(&scores, 4), 0.0);
    }

    #[test]
    fn dstar_matches_hand_computation() {
        let scores = example().scores(Formula::DStar);
        // line 3: 2² / (1 + 0) = 4; line 1: 4 / 2 = 2; line 5: 1 / (1 + 1) = 0.5
        assert_eq!(score_of(&scores, 3), 4.0);
        assert_eq!(score_of(&scores, 1), 2.0);
        assert_eq!(score_of(&scores, 5), 0.5);
        // Run by every failing test and no passing one: as suspicious as can be.
        assert_eq!(Formula::DStar.score(2.0, 0.0, 0.0, 2.0), f64::INFINITY);
    }

    #[test]
    fn no_failing_tests_means_nothing_is_suspicious() {
        let spectrum = Spectrum::from_tests([(true, &[1, 2][..]), (true, &[1][..])]);
        for formula in [Formula::Ochiai, Formula::Tarantula, Formula::DStar] {
            assert!(
                spectrum.scores(formula).iter().all(|s| s.score == 0.0),
                "{}",
                formula.name()
            );
        }
    }
}
