//! Samples: programs (usually model-written) to run against a problem's tests.
//!
//! Two sample ids carry meaning, and are named here only:
//! - `<problem>#reference`: a problem's reference solution run as a sample
//!   ([`reference_id`], [`is_reference_id`], [`Sample::reference`]). Evaluation leaves it
//!   out; localization and the dataset builders use it as a correct program.
//! - `<origin>#mutantK`: the K-th mutant (0-based) made from the sample `origin`
//!   ([`mutant_id`], [`mutant_index`]).

/// What a reference solution's sample id ends with.
const REFERENCE_SUFFIX: &str = "#reference";

/// What separates a mutant's origin from its index in its sample id.
const MUTANT_INFIX: &str = "#mutant";

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
            sample_id: reference_id(&problem.id),
            code: problem.reference.clone(),
            model: Some("reference".into()),
            mutation: None,
        }
    }

    /// Whether this is a problem's reference solution run as a sample.
    pub fn is_reference(&self) -> bool {
        is_reference_id(&self.sample_id)
    }
}

/// The sample id of `problem_id`'s reference solution: `<problem>#reference`.
pub fn reference_id(problem_id: &str) -> String {
    format!("{problem_id}{REFERENCE_SUFFIX}")
}

/// Whether a sample id names a reference solution (`<problem>#reference`).
pub fn is_reference_id(sample_id: &str) -> bool {
    sample_id.ends_with(REFERENCE_SUFFIX)
}

/// The sample id of the `k`-th mutant of the sample `origin_id`: `<origin>#mutantK`.
pub fn mutant_id(origin_id: &str, k: usize) -> String {
    format!("{origin_id}{MUTANT_INFIX}{k}")
}

/// The index K of a mutant's sample id (`<origin>#mutantK`); `None` for any other id.
pub fn mutant_index(sample_id: &str) -> Option<usize> {
    let (_, k) = sample_id.rsplit_once(MUTANT_INFIX)?;
    if k.is_empty() || !k.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    k.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_ids() {
        assert_eq!(reference_id("HumanEval/0"), "HumanEval/0#reference");
        assert!(is_reference_id("HumanEval/0#reference"));
        assert!(!is_reference_id("HumanEval/0#reference#mutant2"));
        assert!(!is_reference_id("HumanEval/0#3"));
    }

    #[test]
    fn mutant_ids_round_trip() {
        let id = mutant_id("p#reference", 12);
        assert_eq!(id, "p#reference#mutant12");
        assert_eq!(mutant_index(&id), Some(12));
        assert_eq!(mutant_index("p#mutant"), None);
        assert_eq!(mutant_index("p#mutant+1"), None);
        assert_eq!(mutant_index("7"), None, "no `#mutant`, no index");
        assert_eq!(mutant_index("p#reference"), None);
    }
}
