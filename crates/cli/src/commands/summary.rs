//! The end-of-run summary: a table for people, JSON for scripts.

use std::collections::BTreeMap;

use tracealign_core::{Execution, Verdict};

/// Counts over a run's samples and tests.
#[derive(Debug, serde::Serialize)]
pub struct Summary {
    pub problems: usize,
    /// Samples run in this invocation.
    pub samples: usize,
    /// Samples skipped because an earlier run finished them (`--resume`).
    pub resumed: usize,
    pub passed: usize,
    pub failed: usize,
    pub error: usize,
    pub timeout: usize,
    pub tests: usize,
    /// Test outcomes by name (`passed`, `failed`, `error`, `timeout`, `memory_limit`, ...).
    pub test_outcomes: BTreeMap<&'static str, usize>,
    /// Whole command, start-up and reference runs included.
    pub wall_s: f64,
    /// `samples / wall_s`.
    pub samples_per_s: f64,
    /// Starting workers and running the reference solutions.
    pub prepare_s: f64,
    /// Running the samples only.
    pub run_s: f64,
    /// `samples / run_s`.
    pub run_samples_per_s: f64,
}

impl Summary {
    pub fn new(problems: usize, resumed: usize) -> Summary {
        Summary {
            problems,
            samples: 0,
            resumed,
            passed: 0,
            failed: 0,
            error: 0,
            timeout: 0,
            tests: 0,
            test_outcomes: BTreeMap::new(),
            wall_s: 0.0,
            samples_per_s: 0.0,
            prepare_s: 0.0,
            run_s: 0.0,
            run_samples_per_s: 0.0,
        }
    }

    pub fn add(&mut self, execution: &Execution) {
        self.samples += 1;
        match execution.verdict() {
            Verdict::Passed => self.passed += 1,
            Verdict::Failed => self.failed += 1,
            Verdict::Error => self.error += 1,
            Verdict::Timeout => self.timeout += 1,
        }
        for test in &execution.tests {
            self.tests += 1;
            *self.test_outcomes.entry(test.outcome.name()).or_default() += 1;
        }
    }

    pub fn finish(&mut self, wall_s: f64, run_s: f64) {
        let rate = |seconds: f64| {
            if seconds > 0.0 {
                self.samples as f64 / seconds
            } else {
                0.0
            }
        };
        self.wall_s = wall_s;
        self.samples_per_s = rate(wall_s);
        self.run_s = run_s;
        self.prepare_s = wall_s - run_s;
        self.run_samples_per_s = rate(run_s);
    }

    /// One line for the progress bar.
    pub fn short(&self) -> String {
        format!(
            "pass {} fail {} error {} timeout {}",
            self.passed, self.failed, self.error, self.timeout
        )
    }

    pub fn table(&self) -> String {
        let percent = |n: usize| {
            if self.samples > 0 {
                100.0 * n as f64 / self.samples as f64
            } else {
                0.0
            }
        };
        let mut rows = vec![
            ("problems".to_string(), self.problems.to_string()),
            ("samples".to_string(), self.samples.to_string()),
        ];
        if self.resumed > 0 {
            rows.push(("already done".into(), self.resumed.to_string()));
        }
        for (name, count) in [
            ("passed", self.passed),
            ("failed", self.failed),
            ("error", self.error),
            ("timeout", self.timeout),
        ] {
            rows.push((
                format!("  {name}"),
                format!("{count} ({:.1}%)", percent(count)),
            ));
        }
        rows.push(("tests".into(), self.tests.to_string()));
        for (name, count) in &self.test_outcomes {
            rows.push((format!("  {name}"), count.to_string()));
        }
        rows.push((
            "wall time".into(),
            format!("{:.2} s ({:.2} s preparing)", self.wall_s, self.prepare_s),
        ));
        rows.push((
            "samples/s".into(),
            format!(
                "{:.1} ({:.1} running samples only)",
                self.samples_per_s, self.run_samples_per_s
            ),
        ));
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        rows.iter()
            .map(|(k, v)| format!("{k:<width$}  {v}\n"))
            .collect()
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("summaries serialize") + "\n"
    }
}
