//! From characters to a model's tokens: per-character values (weights, masks, dense rewards)
//! become per-token values through a Hugging Face `tokenizer.json`, by the tokens' character
//! offsets.
//!
//! Rules, chosen so that no signal is lost or invented:
//! - **A token takes the value of its character farthest from neutral** (1 for weights, 0 for
//!   masks and rewards; the first such character on a tie). A token that straddles the edge of
//!   a weighted region (byte-level BPE merges `" x"`, `"+="`, `"):\n"`) is weighted as if it
//!   were wholly inside: the model cannot emit the region's characters without emitting the
//!   token. So a whitespace-leading token `" x"` carries `x`'s weight, and the bytes of one
//!   multibyte character split over several tokens each carry that character's value.
//! - A token whose offsets cover no character (tokenizers that trim whitespace from offsets,
//!   `trim_offsets: true`, give a pure-whitespace token an empty span) is neutral.
//! - **The prompt and the completion are encoded separately** and concatenated, so no token
//!   straddles them: that is what a model sees at inference (the prompt encoded alone, then the
//!   tokens it generates). The prompt is encoded with the tokenizer's special tokens (a BOS),
//!   the completion without; an end-of-sequence token can be appended to the completion
//!   ([`Aligner::with_eos`]) and is then trained with the neutral value.
//! - Prompt tokens have label -100 (ignored by the loss) and value 0.

use std::ops::Range;
use std::path::Path;

use tokenizers::Tokenizer;
use tracealign_trace::render::TokenCounter;

use crate::error::{DatasetError, Result};

/// The label of a token the loss ignores (PyTorch's `CrossEntropyLoss` default).
pub const IGNORE_INDEX: i64 = -100;

/// A tokenizer with the rules above.
#[derive(Clone)]
pub struct Aligner {
    tokenizer: Tokenizer,
    eos: Option<u32>,
}

/// A text's tokens and the characters each covers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tokens {
    pub ids: Vec<u32>,
    /// Character offsets into the text, half-open; empty for tokens the tokenizer added.
    pub spans: Vec<Range<usize>>,
}

/// A prompt and completion as one training sequence, the columns HF trainers take.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sequence {
    pub input_ids: Vec<u32>,
    pub attention_mask: Vec<u8>,
    /// The token ids of the completion, [`IGNORE_INDEX`] over the prompt.
    pub labels: Vec<i64>,
    /// One value per token: 0 over the prompt, the aligned character values over the
    /// completion.
    pub values: Vec<f64>,
}

/// The tokenizer failed on a text; [`EncodeFailure::at`] says whose.
#[derive(Debug)]
pub struct EncodeFailure(String);

impl EncodeFailure {
    /// The error, naming the sample and which of its texts failed.
    pub fn at(self, sample_id: &str, what: &'static str) -> DatasetError {
        DatasetError::Encode {
            sample_id: sample_id.to_string(),
            what,
            message: self.0,
        }
    }
}

impl Aligner {
    /// Loads a `tokenizer.json`.
    pub fn from_file(path: &Path) -> Result<Aligner> {
        let tokenizer =
            Tokenizer::from_file(path).map_err(|source| DatasetError::LoadTokenizer {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Aligner::new(tokenizer))
    }

    /// Wraps a tokenizer built in-process. No end-of-sequence token is appended.
    pub fn new(tokenizer: Tokenizer) -> Aligner {
        Aligner {
            tokenizer,
            eos: None,
        }
    }

    /// Appends `token` (e.g. `<|endoftext|>`) to every completion, so the model learns to stop.
    pub fn with_eos(mut self, token: &str) -> Result<Aligner> {
        let id = self
            .tokenizer
            .token_to_id(token)
            .ok_or_else(|| DatasetError::UnknownToken {
                token: token.to_string(),
            })?;
        self.eos = Some(id);
        Ok(self)
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The tokens of `text`, with the tokenizer's special tokens when `special` is set.
    pub fn encode(&self, text: &str, special: bool) -> Result<Tokens, EncodeFailure> {
        let encoding = self
            .tokenizer
            .encode_char_offsets(text, special)
            .map_err(|e| EncodeFailure(e.to_string()))?;
        Ok(Tokens {
            ids: encoding.get_ids().to_vec(),
            spans: encoding.get_offsets().iter().map(|&(s, e)| s..e).collect(),
        })
    }

    /// The completion's tokens (and end-of-sequence token) with their values, from one value
    /// per character of `completion`.
    pub fn completion(
        &self,
        completion: &str,
        char_values: &[f64],
        neutral: f64,
    ) -> Result<(Vec<u32>, Vec<f64>), EncodeFailure> {
        let tokens = self.encode(completion, false)?;
        let mut values = token_values(&tokens.spans, char_values, neutral);
        let mut ids = tokens.ids;
        if let Some(eos) = self.eos {
            ids.push(eos);
            values.push(neutral);
        }
        Ok((ids, values))
    }

    /// The training sequence of `prompt` then `completion`, with one value per character of
    /// the completion carried onto its tokens.
    pub fn sequence(
        &self,
        prompt: &str,
        completion: &str,
        char_values: &[f64],
        neutral: f64,
    ) -> Result<Sequence, EncodeFailure> {
        let prompt_ids = self.encode(prompt, true)?.ids;
        let (completion_ids, completion_values) =
            self.completion(completion, char_values, neutral)?;
        let prompt_len = prompt_ids.len();
        let input_ids: Vec<u32> = prompt_ids.into_iter().chain(completion_ids).collect();
        let labels = input_ids
            .iter()
            .enumerate()
            .map(|(k, &id)| {
                if k < prompt_len {
                    IGNORE_INDEX
                } else {
                    i64::from(id)
                }
            })
            .collect();
        let values = std::iter::repeat_n(0.0, prompt_len)
            .chain(completion_values)
            .collect();
        Ok(Sequence {
            attention_mask: vec![1; input_ids.len()],
            input_ids,
            labels,
            values,
        })
    }
}

impl TokenCounter for Aligner {
    /// Tokens of `text` without special tokens, as trace budgets count them.
    fn count(&self, text: &str) -> usize {
        self.encode(text, false)
            .map_or_else(|_| text.chars().count().div_ceil(4), |t| t.ids.len())
    }
}

impl std::fmt::Debug for Aligner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aligner")
            .field("eos", &self.eos)
            .finish_non_exhaustive()
    }
}

/// One value per token: the value of the token's character farthest from `neutral` (see the
/// module docs); `neutral` for a token that covers no character.
pub fn token_values(spans: &[Range<usize>], char_values: &[f64], neutral: f64) -> Vec<f64> {
    spans
        .iter()
        .map(|span| {
            let covered =
                &char_values[span.start.min(char_values.len())..span.end.min(char_values.len())];
            covered.iter().copied().fold(neutral, |best, v| {
                if (v - neutral).abs() > (best - neutral).abs() {
                    v
                } else {
                    best
                }
            })
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
    use tokenizers::pre_tokenizers::byte_level::ByteLevel;
    use tokenizers::{
        AddedToken, DecoderWrapper, NormalizerWrapper, PostProcessorWrapper, PreTokenizerWrapper,
        TokenizerBuilder,
    };

    /// A byte-level BPE (GPT-2 style, offsets untrimmed) trained in-process on `corpus`.
    pub(crate) fn trained_tokenizer(corpus: &[&str], vocab_size: usize) -> Tokenizer {
        let mut tokenizer = TokenizerBuilder::<
            BPE,
            NormalizerWrapper,
            PreTokenizerWrapper,
            PostProcessorWrapper,
            DecoderWrapper,
        >::new()
        .with_model(BPE::default())
        .with_pre_tokenizer(Some(ByteLevel::default().add_prefix_space(false).into()))
        .with_post_processor(Some(ByteLevel::default().trim_offsets(false).into()))
        .with_decoder(Some(ByteLevel::default().into()))
        .build()
        .expect("a complete pipeline");
        let mut trainer = BpeTrainerBuilder::new()
            .show_progress(false)
            .vocab_size(vocab_size)
            .min_frequency(1)
            .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
            .special_tokens(vec![AddedToken::from("<|endoftext|>", true)])
            .build();
        tokenizer
            .train(&mut trainer, corpus.iter())
            .expect("training on strings");
        tokenizer
            .to_string(false)
            .expect("serializable")
            .parse()
            .expect("a trained tokenizer loads as a Tokenizer")
    }

    const CORPUS: &[&str] = &[
        "def total(xs):\n    s = 0\n    for x in xs:\n        s += x\n    return s\n",
        "def name():\n    return 'café'\n",
        "def count(xs):\n    n = 0\n    for x in xs:\n        n += 1\n    return n\n",
    ];

    fn aligner() -> Aligner {
        Aligner::new(trained_tokenizer(CORPUS, 320))
    }

    fn texts(text: &str, tokens: &Tokens) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        tokens
            .spans
            .iter()
            .map(|s| chars[s.clone()].iter().collect())
            .collect()
    }

    #[test]
    fn whitespace_leading_tokens_carry_the_weight_of_their_word() {
        let aligner = aligner();
        let text = "    return s\n";
        let tokens = aligner.encode(text, false).unwrap();
        let pieces = texts(text, &tokens);
        assert!(pieces.contains(&" return".to_string()), "{pieces:?}");
        assert_eq!(pieces.concat(), text, "untrimmed offsets tile the text");
        // Weight only `return` (characters 4..10): the token " return" starts with a space
        // outside the region, and still takes the region's weight.
        let mut chars = vec![1.0; text.chars().count()];
        chars[4..10].fill(2.0);
        let values = token_values(&tokens.spans, &chars, 1.0);
        for (piece, value) in pieces.iter().zip(&values) {
            let expected = if piece.contains("return") { 2.0 } else { 1.0 };
            assert_eq!(*value, expected, "{piece:?} in {pieces:?}");
        }
    }

    #[test]
    fn multibyte_characters_split_over_tokens_keep_their_value() {
        let aligner = aligner();
        // `ü` and `日` are not in the corpus: byte-level BPE spells each with one token per
        // byte, and every such token's character offsets cover the whole character.
        let text = "x = 'ü日'\n";
        let tokens = aligner.encode(text, false).unwrap();
        let u = text.chars().position(|c| c == 'ü').unwrap();
        let covering: Vec<&Range<usize>> = tokens.spans.iter().filter(|s| s.contains(&u)).collect();
        assert!(covering.len() >= 2, "{:?}", tokens.spans);
        let mut chars = vec![0.0; text.chars().count()];
        chars[u] = 1.0;
        let values = token_values(&tokens.spans, &chars, 0.0);
        for (span, value) in tokens.spans.iter().zip(&values) {
            assert_eq!(*value, f64::from(u8::from(span.contains(&u))), "{span:?}");
        }
        // A character the corpus has (é) is one merged token covering exactly it.
        let text = "'café'";
        let tokens = aligner.encode(text, false).unwrap();
        assert!(texts(text, &tokens).iter().any(|t| t.contains('é')));
    }

    #[test]
    fn prompt_tokens_are_masked_and_completion_tokens_carry_values() {
        let aligner = aligner().with_eos("<|endoftext|>").unwrap();
        let prompt = "def total(xs):\n";
        let completion = "    s = 0\n    return s\n";
        let mut chars = vec![1.0; completion.chars().count()];
        let zero = completion.find('0').unwrap();
        chars[zero] = 3.0;
        let sequence = aligner.sequence(prompt, completion, &chars, 1.0).unwrap();
        let prompt_len = aligner.encode(prompt, true).unwrap().ids.len();
        let n = sequence.input_ids.len();
        assert_eq!(sequence.labels.len(), n);
        assert_eq!(sequence.values.len(), n);
        assert_eq!(sequence.attention_mask, vec![1; n]);
        assert!(sequence.labels[..prompt_len]
            .iter()
            .all(|&l| l == IGNORE_INDEX));
        assert!(sequence.values[..prompt_len].iter().all(|&v| v == 0.0));
        assert_eq!(
            sequence.labels[prompt_len..],
            sequence.input_ids[prompt_len..]
                .iter()
                .map(|&id| i64::from(id))
                .collect::<Vec<_>>()[..]
        );
        let eos = aligner.tokenizer().token_to_id("<|endoftext|>").unwrap();
        assert_eq!(sequence.input_ids[n - 1], eos);
        assert_eq!(sequence.values[n - 1], 1.0);
        assert_eq!(sequence.values.iter().filter(|&&v| v == 3.0).count(), 1);
        assert!(matches!(
            aligner.clone().with_eos("<nope>"),
            Err(DatasetError::UnknownToken { .. })
        ));
    }

    #[test]
    fn a_token_with_an_empty_span_is_neutral() {
        let spans = [0..2, 2..2, 2..3];
        assert_eq!(
            token_values(&spans, &[1.0, -2.0, 0.5], 0.0),
            vec![-2.0, 0.0, 0.5]
        );
        // Offsets past the text (a tokenizer that normalizes) are clamped to it.
        assert_eq!(
            token_values(&[0..9, 9..12], &[1.5, 2.0], 1.0),
            vec![2.0, 1.0]
        );
    }
}
