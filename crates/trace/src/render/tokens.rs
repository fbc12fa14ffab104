//! Counting tokens, so that a rendering can be held to a budget.
//!
//! [`CharsPerToken`] is a tokenizer-free estimate; [`HfTokenizer`] counts with the model's own
//! `tokenizer.json`. Counts never include special tokens: a prompt template adds those once,
//! not per trace.

use std::path::{Path, PathBuf};

use tokenizers::Tokenizer;

/// Counts the tokens of a text.
pub trait TokenCounter {
    /// How many tokens `text` takes.
    fn count(&self, text: &str) -> usize;
}

/// An estimate without a tokenizer: one token per four characters, rounded up.
///
/// Four characters is the usual rule of thumb for English and code with BPE vocabularies;
/// characters, not bytes, so that non-ASCII text is not counted two or three times over.
#[derive(Debug, Clone, Copy, Default)]
pub struct CharsPerToken;

impl TokenCounter for CharsPerToken {
    fn count(&self, text: &str) -> usize {
        text.chars().count().div_ceil(4)
    }
}

/// Counts with a Hugging Face tokenizer (`tokenizer.json`).
pub struct HfTokenizer {
    tokenizer: Tokenizer,
}

impl HfTokenizer {
    /// Loads `tokenizer.json` from `path`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, RenderError> {
        let path = path.as_ref();
        let tokenizer =
            Tokenizer::from_file(path).map_err(|source| RenderError::LoadTokenizer {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Self { tokenizer })
    }

    /// Wraps a tokenizer built in-process.
    pub fn new(tokenizer: Tokenizer) -> Self {
        Self { tokenizer }
    }
}

impl TokenCounter for HfTokenizer {
    /// Tokens of the encoding without special tokens. Should the tokenizer fail on the text
    /// (it does not for plain UTF-8 text), the count falls back to [`CharsPerToken`]'s
    /// estimate rather than to zero, which would let anything through a budget.
    fn count(&self, text: &str) -> usize {
        match self.tokenizer.encode(text, false) {
            Ok(encoding) => encoding.get_ids().len(),
            Err(_) => CharsPerToken.count(text),
        }
    }
}

impl std::fmt::Debug for HfTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HfTokenizer").finish_non_exhaustive()
    }
}

/// What can go wrong when setting up rendering.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// A `tokenizer.json` could not be read or parsed.
    #[error("cannot load the tokenizer at {}", path.display())]
    LoadTokenizer {
        /// The file that was asked for.
        path: PathBuf,
        /// Why it could not be loaded.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A style name that is none of `lines`, `blocks`, `inline`, `summary`.
    #[error("unknown trace style `{name}` (expected lines, blocks, inline or summary)")]
    UnknownStyle {
        /// The name as given.
        name: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chars_per_token_rounds_up_and_counts_characters_not_bytes() {
        assert_eq!(CharsPerToken.count(""), 0);
        assert_eq!(CharsPerToken.count("abcd"), 1);
        assert_eq!(CharsPerToken.count("abcde"), 2);
        assert_eq!(CharsPerToken.count("日本日本"), 1);
    }

    #[test]
    fn a_missing_tokenizer_file_names_the_path() {
        let err = HfTokenizer::from_file("/nonexistent/tokenizer.json").unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/tokenizer.json"),
            "{err}"
        );
        assert!(std::error::Error::source(&err).is_some());
    }
}
