//! Evaluation of executed samples, as code-generation papers report it.
//!
//! - [`pass_at_k`]: the unbiased estimator of Chen et al. (2021), per problem, averaged over
//!   problems ([`Evaluation`]), with a bootstrap 95% interval over problems ([`bootstrap`]).
//! - [`Category`]: why a sample failed (syntax error, runtime error by exception type, wrong
//!   answer, timeout, ...), decided by the first test that did not pass.
//! - [`LocalizationFigures`]: top-k and EXAM of fault reports against known faulty lines
//!   (mutants), scored by [`accuracy`] (ties counted pessimistically).
//! - [`fit`]: a grid search for the localization combination's weights on cases with known
//!   faulty lines (our own problems and their mutants, never benchmark data).
//!
//! Nothing here runs code: it reads `Execution`s and `FaultReport`s.

pub mod accuracy;
pub mod bootstrap;
pub mod category;
mod display;
pub mod evaluation;
pub mod fit;
pub mod localization;
pub mod pass_at_k;

pub use accuracy::{Accuracy, CaseScore};
pub use bootstrap::Interval;
pub use category::Category;
pub use evaluation::{Evaluation, PassAtK, ProblemScore};
pub use localization::LocalizationFigures;
pub use pass_at_k::pass_at_k;
