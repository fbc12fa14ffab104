//! Samples: programs (usually model-written) to run against a problem's tests.

/// One program for one problem.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sample {
    pub problem_id: String,
    /// Unique within a samples file.
    pub sample_id: String,
    /// The whole program.
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// For a synthetic faulty program (a mutant): the fault that was put in, the ground
    /// truth of localization benchmarks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutation: Option<crate::InjectedFault>,
}

impl Sample {
    /// The reference solution of a problem as a sample (for self-checks and baselines).
    pub fn reference(problem: &crate::Problem) -> Sample {
        Sample {
            problem_id: problem.id.clone(),
            sample_id: format!("{}#reference", problem.id),
            code: problem.reference.clone(),
            model: Some("reference".into()),
            mutation: None,
        }
    }
}
