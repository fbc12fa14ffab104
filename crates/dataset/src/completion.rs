//! A program as a prompt and a completion, the shape TRL's prompt–completion datasets take.
//!
//! The prompt is the problem's prompt (what a model is shown). The completion is the program
//! minus that prompt when the program starts with it (HumanEval-style samples: prompt plus
//! body), else the whole program (a model that rewrote the signature, or a problem whose
//! prompt is prose). `prompt + completion == program` in the first case only; the
//! `offset` says where the completion starts in the program either way, so per-character
//! vectors of the program can be cut to the completion.

/// A program cut into what the model was shown and what it wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split<'a> {
    /// The problem's prompt.
    pub prompt: &'a str,
    /// The part of the program that is trained on.
    pub completion: &'a str,
    /// Characters of the program before the completion.
    pub offset: usize,
}

impl<'a> Split<'a> {
    /// Splits `program` under `prompt` (see the module docs).
    pub fn of(prompt: &'a str, program: &'a str) -> Split<'a> {
        match program.strip_prefix(prompt) {
            Some(completion) if !prompt.is_empty() => Split {
                prompt,
                completion,
                offset: prompt.chars().count(),
            },
            _ => Split {
                prompt,
                completion: program,
                offset: 0,
            },
        }
    }

    /// The completion's part of a per-character vector of the whole program.
    pub fn cut<T: Clone>(&self, program_values: &[T]) -> Vec<T> {
        let end = self.offset + self.completion.chars().count();
        program_values[self.offset.min(program_values.len())..end.min(program_values.len())]
            .to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_that_starts_with_the_prompt_completes_it() {
        let prompt = "def f(x):\n    \"\"\"é\"\"\"\n";
        let program = format!("{prompt}    return x\n");
        let split = Split::of(prompt, &program);
        assert_eq!(split.completion, "    return x\n");
        assert_eq!(split.offset, prompt.chars().count());
        let values: Vec<usize> = (0..program.chars().count()).collect();
        assert_eq!(split.cut(&values)[0], split.offset);
        assert_eq!(split.cut(&values).len(), split.completion.chars().count());
    }

    #[test]
    fn any_other_program_is_a_whole_completion() {
        let split = Split::of("def f(x):\n", "def f(y):\n    return y\n");
        assert_eq!(
            (split.completion, split.offset),
            ("def f(y):\n    return y\n", 0)
        );
        let split = Split::of("", "x = 1\n");
        assert_eq!((split.completion, split.offset), ("x = 1\n", 0));
    }
}
