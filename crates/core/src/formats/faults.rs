//! `faults.jsonl`: one [`FaultReport`] per line, as `tracealign localize` writes them.
//!
//! The reader is gzip-aware like every reader here and keeps each report's line, so that
//! later checks (a report about another program than the one that ran, say) can name it. A
//! file with no report is a valid, empty set of reports: localizing no programs writes one.

use std::path::{Path, PathBuf};

use super::jsonl::{parse_records, read_text, write_records};
use crate::error::Result;
use crate::fault::FaultReport;

/// A fault-reports file, with where each report came from.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    pub path: PathBuf,
    /// Each report with its 1-based line in the file.
    pub reports: Vec<(usize, FaultReport)>,
}

impl Faults {
    /// The reports alone, in file order.
    pub fn into_reports(self) -> Vec<FaultReport> {
        self.reports.into_iter().map(|(_, report)| report).collect()
    }
}

/// Reads `faults.jsonl` (plain or gzip-compressed); errors name the file, the line and the
/// field.
pub fn read_faults(path: &Path) -> Result<Faults> {
    let text = read_text(path)?;
    parse_faults(path, &text)
}

/// Parses fault reports from JSON Lines text; `origin` names it in errors.
pub fn parse_faults(origin: &Path, text: &str) -> Result<Faults> {
    let mut faults = Faults {
        path: origin.to_path_buf(),
        reports: Vec::new(),
    };
    if text.trim().is_empty() {
        return Ok(faults);
    }
    for record in parse_records(origin, text, "fault report")? {
        let report = serde_json::from_value(serde_json::Value::Object(record.fields.clone()))
            .map_err(|e| {
                record.error(format!("not a fault report of `tracealign localize`: {e}"))
            })?;
        faults.reports.push((record.line, report));
    }
    Ok(faults)
}

/// Writes `reports` as JSON Lines, creating (or truncating) the file; returns how many.
pub fn write_faults<'a>(
    path: &Path,
    reports: impl IntoIterator<Item = &'a FaultReport>,
) -> Result<usize> {
    write_records(path, reports)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::LineFault;

    fn report(sample_id: &str) -> FaultReport {
        FaultReport {
            problem_id: "p".into(),
            sample_id: sample_id.into(),
            model: None,
            method: "combined".into(),
            passed: false,
            code: "def f(x):\n    return x\n".into(),
            lines: vec![LineFault {
                line: 2,
                score: 0.5,
                signals: vec!["divergence".into()],
            }],
            spans: vec![],
        }
    }

    #[test]
    fn written_reports_read_back_with_their_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("faults.jsonl");
        let reports = [report("a"), report("b")];
        assert_eq!(write_faults(&path, &reports).unwrap(), 2);
        let faults = read_faults(&path).unwrap();
        assert_eq!(faults.path, path);
        assert_eq!(faults.reports[1], (2, report("b")));
        assert_eq!(faults.into_reports(), reports);

        assert_eq!(write_faults(&path, &[]).unwrap(), 0);
        assert!(read_faults(&path).unwrap().reports.is_empty());
    }

    #[test]
    fn errors_name_the_line() {
        let text = format!(
            "{}\n\n{{\"sample_id\": \"x\"}}\n",
            serde_json::to_string(&report("a")).unwrap()
        );
        let error = parse_faults(Path::new("f.jsonl"), &text).unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with("f.jsonl:3: not a fault report"),
            "{message}"
        );
    }
}
