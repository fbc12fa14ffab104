//! `tracealign show`: a program from a fault-reports file, with a heat column per line.

use std::collections::HashMap;

use anyhow::{bail, Result};
use tracealign_core::formats::faults::read_faults;
use tracealign_core::FaultReport;

use crate::args::ShowArgs;
use crate::printer;

/// Width of the heat bar, in characters.
const BAR: usize = 8;

pub fn show(args: ShowArgs) -> Result<()> {
    let reports = read_faults(&args.faults)?.into_reports();
    let chosen: Vec<&FaultReport> = match &args.sample {
        Some(id) => match reports.iter().find(|r| &r.sample_id == id) {
            Some(report) => vec![report],
            None => bail!(
                "no report for sample `{id}` in {} ({} reports)",
                args.faults.display(),
                reports.len()
            ),
        },
        None => reports.iter().filter(|r| !r.passed).collect(),
    };
    for report in chosen {
        printer::out(heat_map(report));
    }
    Ok(())
}

/// The program with, per code line, its rank, score and a bar scaled to the top score.
pub fn heat_map(report: &FaultReport) -> String {
    let by_line: HashMap<u32, (usize, f64)> = report
        .lines
        .iter()
        .map(|l| (l.line, (report.rank_of(l.line).unwrap_or(0), l.score)))
        .collect();
    let top = report.lines.first().map_or(0.0, |l| l.score);
    let verdict = if report.passed { "passed" } else { "failed" };
    let mut out = format!(
        "── {} ({verdict}; {}: rank, score) ──\n",
        report.sample_id, report.method
    );
    for (index, text) in report.code.lines().enumerate() {
        let number = index as u32 + 1;
        let heat = match by_line.get(&number) {
            Some(&(rank, score)) if score > 0.0 && top > 0.0 => {
                let filled = ((score / top) * BAR as f64).ceil() as usize;
                format!(
                    "#{rank:<3} {score:>5.2} {}{}",
                    "█".repeat(filled),
                    " ".repeat(BAR - filled)
                )
            }
            _ => " ".repeat(4 + 1 + 5 + 1 + BAR),
        };
        out.push_str(&format!("{number:>4} {heat} │ {text}\n"));
    }
    out
}
