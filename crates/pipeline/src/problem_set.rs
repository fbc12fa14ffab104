//! Which problems a step works on: a file (in a format, or detected) or the embedded set.

use std::path::PathBuf;

use serde::ser::SerializeStruct;
use tracealign_core::formats::problems::{read_problems, ProblemFormat};
use tracealign_core::{embedded, Problem};

/// A problem set as the user names it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProblemSource {
    /// `None`: the embedded problem set.
    pub path: Option<PathBuf>,
    /// `None`: detected from the first record.
    pub format: Option<ProblemFormat>,
}

impl ProblemSource {
    pub fn file(path: impl Into<PathBuf>) -> ProblemSource {
        ProblemSource {
            path: Some(path.into()),
            format: None,
        }
    }

    /// The problems, read and checked.
    pub fn load(&self) -> tracealign_core::Result<Vec<Problem>> {
        match &self.path {
            Some(path) => read_problems(path, self.format),
            None => Ok(embedded::problems()),
        }
    }

    /// The files it reads (for fingerprints).
    pub fn reads(&self) -> Vec<PathBuf> {
        self.path.iter().cloned().collect()
    }

    /// Its `--problems`/`--format` arguments, for the command lines manifests record.
    pub fn arguments(&self) -> String {
        let mut args = String::new();
        if let Some(path) = &self.path {
            args.push_str(&format!(" --problems {}", path.display()));
        }
        if let Some(format) = self.format {
            args.push_str(&format!(" --format {}", format_name(format)));
        }
        args
    }
}

/// The `--format` name of a format.
pub fn format_name(format: ProblemFormat) -> &'static str {
    match format {
        ProblemFormat::Tracealign => "tracealign",
        ProblemFormat::HumanEval => "humaneval",
        ProblemFormat::Mbpp => "mbpp",
        ProblemFormat::EvalPlus => "evalplus",
    }
}

impl serde::Serialize for ProblemSource {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = serializer.serialize_struct("ProblemSource", 2)?;
        fields.serialize_field("path", &self.path)?;
        fields.serialize_field("format", &self.format.map(format_name))?;
        fields.end()
    }
}
