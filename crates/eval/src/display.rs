//! The evaluation as people read it in a terminal: pass@k with intervals, then where the
//! failures went.

use std::fmt;

use crate::evaluation::Evaluation;

impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} samples of {} problems, {} passed",
            self.samples, self.problems, self.passed
        )?;
        for p in &self.pass_at_k {
            let i = &p.interval;
            writeln!(
                f,
                "  pass@{:<4} {:>6.1}%   95% CI [{:.1}%, {:.1}%]",
                p.k,
                i.mean * 100.0,
                i.low * 100.0,
                i.high * 100.0
            )?;
        }
        if !self.skipped_k.is_empty() {
            let ks: Vec<String> = self.skipped_k.iter().map(|k| k.to_string()).collect();
            writeln!(
                f,
                "  (pass@{} left out: fewer samples per problem)",
                ks.join(", pass@")
            )?;
        }
        let mut kinds: Vec<(&String, &usize)> = self.category_kinds.iter().collect();
        kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let listed: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        writeln!(f, "  outcomes: {}", listed.join(" · "))?;
        if let Some(l) = &self.localization {
            let a = &l.accuracy;
            writeln!(
            f,
            "  localization ({} faulty programs): top-1 {:.1}%, top-3 {:.1}%, EXAM {:.3} (random: top-1 {:.1}%)",
            a.cases,
            a.top1 * 100.0,
            a.top3 * 100.0,
            a.exam,
            l.random.top1 * 100.0
        )?;
        }
        Ok(())
    }
}
