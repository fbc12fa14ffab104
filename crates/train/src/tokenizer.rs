//! Text ↔ token ids: a Hugging Face `tokenizer.json`, or a byte-level BPE rebuilt from a GGUF
//! file's `tokenizer.ggml.*` metadata. No BOS or other special token is added on encoding:
//! prompts are continued as plain text.

use std::collections::HashMap;
use std::path::Path;

use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, Tokenizer};

use crate::error::{Result, TrainError};

/// A tokenizer with the ids generation needs.
#[derive(Clone)]
pub struct TextTokenizer {
    pub inner: Tokenizer,
    /// Ids that end a generation.
    pub eos_ids: Vec<u32>,
    /// The id padding uses.
    pub pad_id: u32,
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextTokenizer")
            .field("vocab", &self.inner.get_vocab_size(true))
            .field("eos_ids", &self.eos_ids)
            .finish()
    }
}

impl TextTokenizer {
    /// Reads a `tokenizer.json`; `eos_ids` come from the model config.
    pub fn read(path: &Path, eos_ids: Vec<u32>) -> Result<TextTokenizer> {
        let inner = Tokenizer::from_file(path)
            .map_err(|e| TrainError::Tokenizer(format!("cannot load {}: {e}", path.display())))?;
        Ok(TextTokenizer::wrap(inner, eos_ids))
    }

    /// Wraps a tokenizer; the pad id is the first end-of-sequence id (padding is masked anyway).
    pub fn wrap(inner: Tokenizer, eos_ids: Vec<u32>) -> TextTokenizer {
        let pad_id = eos_ids.first().copied().unwrap_or(0);
        TextTokenizer {
            inner,
            eos_ids,
            pad_id,
        }
    }

    /// The ids of `text`, adding no special token.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let encoding = self
            .inner
            .encode(text, false)
            .map_err(|e| TrainError::Tokenizer(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// The text of `ids`, special tokens left out.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner
            .decode(ids, true)
            .map_err(|e| TrainError::Tokenizer(e.to_string()))
    }

    /// The id of a token, if the vocabulary has it.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }
}

/// A byte-level BPE in the "smollm" setting of llama.cpp: digits split one by one, then GPT-2
/// byte-level pre-tokenization without a prefix space; `special` tokens are never split.
pub fn byte_level_bpe(
    vocab: HashMap<String, u32>,
    merges: Vec<(String, String)>,
    special: &[String],
) -> Result<Tokenizer> {
    let bpe = BPE::builder()
        .vocab_and_merges(vocab.into_iter().collect::<Vocab>(), merges)
        .build()
        .map_err(|e| TrainError::Tokenizer(format!("cannot build the BPE model: {e}")))?;
    let mut tokenizer = Tokenizer::new(bpe);
    let pre = Sequence::new(vec![
        Digits::new(true).into(),
        ByteLevel::new(false, false, true).into(),
    ]);
    tokenizer.with_pre_tokenizer(Some(pre));
    tokenizer.with_decoder(Some(ByteLevel::new(false, false, true)));
    let added: Vec<AddedToken> = special
        .iter()
        .map(|t| AddedToken::from(t.clone(), true))
        .collect();
    tokenizer
        .add_special_tokens(added)
        .map_err(|e| TrainError::Tokenizer(format!("cannot add the special tokens: {e}")))?;
    Ok(tokenizer)
}
