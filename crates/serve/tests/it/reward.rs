//! `/v1/reward`: per-token arrays as long as the caller's tokens, negative where the fault is.

use std::ops::Range;

use serde_json::{json, Value};

use crate::harness::start;

const MUTANT: &str = "    s = 0\n    for x in xs:\n        s = s - x\n    return s\n";
const CORRECT: &str = "    s = 0\n    for x in xs:\n        s = s + x\n    return s\n";

/// Tokens as a whitespace tokenizer would cut them: runs of spaces, of word characters,
/// and single other characters, as character spans.
fn tokens(text: &str) -> Vec<Range<usize>> {
    let chars: Vec<char> = text.chars().collect();
    let class = |c: char| match c {
        ' ' => 0,
        c if c.is_alphanumeric() || c == '_' => 1,
        _ => 2,
    };
    let mut spans = Vec::new();
    let mut start = 0;
    for end in 1..=chars.len() {
        let cut = end == chars.len()
            || class(chars[end]) != class(chars[start])
            || class(chars[start]) == 2;
        if cut {
            spans.push(start..end);
            start = end;
        }
    }
    spans
}

fn floats(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

#[test]
fn a_mutant_gets_negative_token_rewards_on_its_mutated_line() {
    let server = start(|_| {});
    let spans = tokens(MUTANT);
    let offsets: Vec<[usize; 2]> = spans.iter().map(|s| [s.start, s.end]).collect();
    let request = json!({"completions": [
        {"problem_id": "t/total", "sample_id": "mutant", "completion": MUTANT, "token_offsets": offsets},
        {"problem_id": "t/total", "sample_id": "correct", "completion": CORRECT, "token_offsets": offsets},
    ], "feedback_budget": 400});
    let answer = server.post("/v1/reward", &request);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let mutant = &answer.body["results"][0];
    assert_eq!(mutant["passed"], false);
    assert_eq!(mutant["rewards"]["binary"], 0.0);
    assert!((mutant["rewards"]["pass_ratio"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    let rewards = floats(&mutant["token_rewards"]);
    assert_eq!(rewards.len(), spans.len());
    let line: Range<usize> = {
        let start = MUTANT.find("        s = s - x").unwrap();
        start..start + "        s = s - x".len()
    };
    // The most negative token (the localizer's top suspect) is on the mutated line.
    let (lowest, _) = (spans.iter().zip(&rewards))
        .min_by(|(_, a), (_, b)| a.total_cmp(b))
        .unwrap();
    assert!(
        rewards.iter().any(|r| *r < 0.0),
        "no negative reward: {rewards:?}"
    );
    assert!(
        lowest.start >= line.start && lowest.end <= line.end,
        "{lowest:?}: {rewards:?}"
    );
    let divergence = &mutant["divergence"];
    assert_eq!(divergence["line"], 4, "{divergence}");
    let (start, end) = (
        divergence["start"].as_u64().unwrap() as usize,
        divergence["end"].as_u64().unwrap() as usize,
    );
    assert!(
        start >= line.start && end <= line.end,
        "{start}..{end} outside {line:?}"
    );
    assert!(mutant["feedback"].as_str().unwrap().contains("test"));
    assert_eq!(mutant["completion_offset"], "def total(xs):\n".len());

    let correct = &answer.body["results"][1];
    assert_eq!(
        (
            correct["passed"].as_bool(),
            correct["rewards"]["rltf"].as_f64()
        ),
        (Some(true), Some(1.0))
    );
    assert!(floats(&correct["token_rewards"]).iter().all(|r| *r == 0.0));
    assert!(correct["divergence"].is_null());
}

#[test]
fn without_tokens_rewards_come_per_character_and_token_ids_need_a_tokenizer() {
    let server = start(|_| {});
    let request = json!({"completions": [{"problem_id": "t/total", "completion": MUTANT}], "dense": "error_line"});
    let answer = server.post("/v1/reward", &request);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let chars = floats(&answer.body["results"][0]["char_rewards"]);
    assert_eq!(chars.len(), MUTANT.chars().count());
    assert_eq!(answer.body["results"][0]["dense_scheme"], "error_line");
    let ids = json!({"completions": [{"problem_id": "t/total", "completion": MUTANT, "token_ids": [1, 2]}]});
    let refused = server.post("/v1/reward", &ids);
    assert_eq!(
        (refused.status, refused.body["field"].as_str()),
        (422, Some("completions[0].token_ids"))
    );
    let scheme = json!({"completions": [], "dense": "binary"});
    assert_eq!(server.post("/v1/reward", &scheme).body["field"], "dense");
}

#[test]
fn with_a_tokenizer_the_server_tokenizes_and_places_each_token() {
    use tokenizers::models::wordlevel::WordLevel;
    use tokenizers::pre_tokenizers::whitespace::Whitespace;
    use tracealign_dataset::align::Aligner;
    use tracealign_serve::TokenizerSource;

    let words = [
        "[UNK]", "s", "=", "0", "for", "x", "in", "xs", ":", "-", "+", "return",
    ];
    let vocab = (words.iter().enumerate())
        .map(|(id, word)| (word.to_string(), id as u32))
        .collect();
    let model = WordLevel::builder()
        .vocab(vocab)
        .unk_token("[UNK]".into())
        .build()
        .unwrap();
    let mut tokenizer = tokenizers::Tokenizer::new(model);
    tokenizer.with_pre_tokenizer(Some(Whitespace {}));
    let server = start(|settings| {
        settings.tokenizer = Some(TokenizerSource::Built {
            name: "words".into(),
            aligner: Box::new(Aligner::new(tokenizer)),
        })
    });
    let request = json!({"completions": [{"problem_id": "t/total", "completion": MUTANT}]});
    let answer = server.post("/v1/reward", &request);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let result = &answer.body["results"][0];
    let (ids, rewards) = (&result["token_ids"], floats(&result["token_rewards"]));
    let spans: Vec<(usize, usize)> = serde_json::from_value(result["token_spans"].clone()).unwrap();
    // Whitespace splits words and punctuation: 15 tokens, each placed on its text.
    assert_eq!(
        (ids.as_array().unwrap().len(), rewards.len(), spans.len()),
        (15, 15, 15)
    );
    let text: Vec<char> = MUTANT.chars().collect();
    let cut = |(start, end): (usize, usize)| text[start..end].iter().collect::<String>();
    assert_eq!(cut(spans[0]), "s");
    assert_eq!(cut(spans[11]), "-");
    // The lowest reward is on the mutated line. Ids sent back get one reward each (placed
    // by decoding them, which this word-level test tokenizer does not do losslessly; the
    // byte-level BPE of bench/serve_reward.py gives the same arrays both ways).
    let line = MUTANT.find("        s = s - x").unwrap()..MUTANT.find("    return").unwrap();
    let lowest = (0..rewards.len())
        .min_by(|&a, &b| rewards[a].total_cmp(&rewards[b]))
        .unwrap();
    assert!(line.contains(&spans[lowest].0), "{spans:?} {rewards:?}");
    let echo =
        json!({"completions": [{"problem_id": "t/total", "completion": MUTANT, "token_ids": ids}]});
    let echoed = server.post("/v1/reward", &echo);
    assert_eq!(
        floats(&echoed.body["results"][0]["token_rewards"]).len(),
        15
    );
}
