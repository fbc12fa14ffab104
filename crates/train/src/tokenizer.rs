//! Text ↔ token ids: a Hugging Face `tokenizer.json`, or a byte-level BPE rebuilt from a GGUF
//! file's `tokenizer.ggml.*` metadata. No BOS or other special token is added on encoding:
//! prompts are continued as plain text.
//!
//! Chat models carry a Jinja chat template (`tokenizer.chat_template` in a GGUF,
//! `chat_template` in `tokenizer_config.json`); [`TextTokenizer::chat_prompt`] renders it with
//! minijinja as Hugging Face's `apply_chat_template(..., add_generation_prompt=True)` does, so
//! the model sees the turn markers it was tuned on.

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
    /// The model's Jinja chat template, if it has one.
    pub chat_template: Option<String>,
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
    /// Reads a `tokenizer.json`, and the chat template of the `tokenizer_config.json` beside
    /// it if there is one; `eos_ids` come from the model config.
    pub fn read(path: &Path, eos_ids: Vec<u32>) -> Result<TextTokenizer> {
        let inner = Tokenizer::from_file(path)
            .map_err(|e| TrainError::Tokenizer(format!("cannot load {}: {e}", path.display())))?;
        let config = path.with_file_name("tokenizer_config.json");
        Ok(TextTokenizer::wrap(inner, eos_ids).with_chat_template(chat_template_of(&config)?))
    }

    /// Wraps a tokenizer; the pad id is the first end-of-sequence id (padding is masked anyway).
    pub fn wrap(inner: Tokenizer, eos_ids: Vec<u32>) -> TextTokenizer {
        let pad_id = eos_ids.first().copied().unwrap_or(0);
        TextTokenizer {
            inner,
            eos_ids,
            pad_id,
            chat_template: None,
        }
    }

    /// The same tokenizer with a chat template.
    pub fn with_chat_template(mut self, template: Option<String>) -> TextTokenizer {
        self.chat_template = template;
        self
    }

    /// The text a chat model continues to answer `user`: the chat template rendered with that
    /// one user message and the assistant's turn opened. The template sees `messages`,
    /// `add_generation_prompt`, `bos_token` and `eos_token`, and Python's string methods.
    pub fn chat_prompt(&self, user: &str) -> Result<String> {
        let template = self.chat_template.as_deref().ok_or_else(|| {
            TrainError::Invalid(
                "the model has no chat template (`tokenizer.chat_template` in a GGUF, \
                 `chat_template` in tokenizer_config.json); prompt it as a completion model"
                    .into(),
            )
        })?;
        let mut env = minijinja::Environment::new();
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function(
            "raise_exception",
            |message: String| -> std::result::Result<String, minijinja::Error> {
                Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    message,
                ))
            },
        );
        let invalid = |e: minijinja::Error| TrainError::Invalid(format!("chat template: {e:#}"));
        env.add_template("chat", template).map_err(invalid)?;
        let eos = self
            .eos_ids
            .first()
            .and_then(|id| self.inner.id_to_token(*id));
        let context = minijinja::context! {
            messages => vec![minijinja::context! { role => "user", content => user }],
            add_generation_prompt => true,
            bos_token => "",
            eos_token => eos.unwrap_or_default(),
        };
        env.get_template("chat")
            .and_then(|t| t.render(context))
            .map_err(invalid)
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

/// The `chat_template` of a `tokenizer_config.json` (none when the file is absent). A list of
/// named templates (as some models ship) gives its `default`.
fn chat_template_of(path: &Path) -> Result<Option<String>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(None);
    };
    let config: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| TrainError::Invalid(format!("{}: {e}", path.display())))?;
    Ok(match &config["chat_template"] {
        serde_json::Value::String(template) => Some(template.clone()),
        serde_json::Value::Array(named) => named
            .iter()
            .find(|t| t["name"] == "default")
            .and_then(|t| t["template"].as_str())
            .map(str::to_string),
        _ => None,
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tiny::tiny_tokenizer;

    /// SmolLM2-Instruct's template (ChatML with a default system turn).
    const CHATML: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    fn tokenizer(template: Option<&str>) -> TextTokenizer {
        TextTokenizer::wrap(tiny_tokenizer().unwrap(), vec![0])
            .with_chat_template(template.map(str::to_string))
    }

    #[test]
    fn a_chat_prompt_renders_the_template_with_the_assistant_turn_open() {
        let prompt = tokenizer(Some(CHATML)).chat_prompt("Write add.").unwrap();
        assert_eq!(
            prompt,
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by \
             Hugging Face<|im_end|>\n<|im_start|>user\nWrite add.<|im_end|>\n\
             <|im_start|>assistant\n"
        );
    }

    #[test]
    fn templates_may_call_python_string_methods_and_raise() {
        let strip = "{{ messages[0]['content'].strip() }}|{{ eos_token }}";
        let prompt = tokenizer(Some(strip)).chat_prompt("  hi  ").unwrap();
        assert_eq!(prompt, "hi|<|endoftext|>");
        let raising = "{{ raise_exception('only user turns') }}";
        let error = tokenizer(Some(raising)).chat_prompt("x").unwrap_err();
        assert!(error.to_string().contains("only user turns"), "{error}");
    }

    #[test]
    fn no_template_is_a_clear_error() {
        let error = tokenizer(None).chat_prompt("x").unwrap_err().to_string();
        assert!(error.contains("no chat template"), "{error}");
    }

    #[test]
    fn a_tokenizer_config_gives_its_template_and_a_named_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokenizer_config.json");
        assert_eq!(chat_template_of(&path).unwrap(), None);
        std::fs::write(&path, r#"{"chat_template": "{{ 1 }}"}"#).unwrap();
        assert_eq!(chat_template_of(&path).unwrap().as_deref(), Some("{{ 1 }}"));
        let named = r#"{"chat_template": [{"name": "tool_use", "template": "a"},
                                           {"name": "default", "template": "b"}]}"#;
        std::fs::write(&path, named).unwrap();
        assert_eq!(chat_template_of(&path).unwrap().as_deref(), Some("b"));
    }
}
