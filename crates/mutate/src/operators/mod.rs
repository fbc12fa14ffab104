//! The mutation operators: each looks at one syntax node and proposes the edits it would
//! make there.
//!
//! Every operator module exposes `edits(program, node) -> Vec<Edit>`; nodes come from
//! [`crate::region`], so operators never need to re-check that a node is mutable code.

mod arithmetic;
mod boolean;
mod comparison;
mod constant;
mod delete;
mod index;
mod negate;
mod returns;
mod slice;
mod swap;
mod variable;

use tracealign_core::python::Node;

use crate::edit::Edit;
use crate::syntax::Program;
use crate::Operator;

/// The edits `operator` proposes at `node`.
pub(crate) fn edits(operator: Operator, program: &Program<'_>, node: Node<'_>) -> Vec<Edit> {
    match operator {
        Operator::Arithmetic => arithmetic::edits(program, node),
        Operator::Comparison => comparison::opposite_edits(program, node),
        Operator::Boundary => comparison::boundary_edits(program, node),
        Operator::Boolean => boolean::edits(program, node),
        Operator::Constant => constant::edits(program, node),
        Operator::Index => index::edits(program, node),
        Operator::SliceBounds => slice::edits(program, node),
        Operator::VariableMisuse => variable::edits(program, node),
        Operator::WrongReturn => returns::edits(program, node),
        Operator::DeleteStatement => delete::edits(program, node),
        Operator::SwapArguments => swap::edits(program, node),
        Operator::NegateCondition => negate::edits(program, node),
    }
}
