"""Weighted SFT for TRL: the weighted loss equals the model's own loss with all-ones weights
and one token's cross-entropy when only it is weighted; a real WeightedSFTTrainer trains on
tracealign-style rows (input_ids, attention_mask, labels, weights) of a tiny local Llama."""

import os

import pytest

REQUIRED = os.environ.get("TRACEALIGN_REQUIRE_TRL") == "1"
try:
    import torch
    from datasets import Dataset
    from tokenizers import Tokenizer, models
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
    from trl import SFTConfig
except ImportError as missing:  # pragma: no cover - depends on the environment
    if REQUIRED:
        raise
    pytest.skip(f"TRL is not installed: {missing}", allow_module_level=True)

from tracealign.trl import WeightedCollator, WeightedSFTTrainer, weighted_causal_lm_loss


def tiny_model():
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=32, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64, pad_token_id=0)
    return LlamaForCausalLM(config)


def rows():
    # Prompt tokens 3..5 (labels -100, weight 0), completion 6..9 weighted 1, 2.5, 1, 0.5.
    return [
        {"input_ids": [3, 4, 5, 6, 7, 8, 9], "attention_mask": [1] * 7, "labels": [-100, -100, -100, 6, 7, 8, 9],
         "weights": [0, 0, 0, 1.0, 2.5, 1.0, 0.5]},
        {"input_ids": [3, 4, 10, 11], "attention_mask": [1] * 4, "labels": [-100, -100, 10, 11], "weights": [0, 0, 1.0, 1.0]},
    ]


def test_the_weighted_loss_reduces_to_the_models_own():
    model = tiny_model()
    batch = WeightedCollator(0)(rows())
    assert batch["input_ids"].shape == (2, 7) and batch["labels"][1].tolist()[-3:] == [-100] * 3
    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"])
    ones = torch.ones_like(batch["weights"])
    assert weighted_causal_lm_loss(out.logits, batch["labels"], ones).item() == pytest.approx(out.loss.item(), rel=1e-5)
    only = torch.zeros_like(batch["weights"])
    only[0, 4] = 1.0  # token 7 of row 0, predicted from position 3
    ce = torch.nn.functional.cross_entropy(out.logits[0, 3:4].float(), torch.tensor([7]))
    trained = int((batch["labels"][:, 1:] != -100).sum())
    assert weighted_causal_lm_loss(out.logits, batch["labels"], only).item() == pytest.approx(ce.item() / trained, rel=1e-5)


def test_weighted_sft_trainer_trains(tmp_path):
    model = tiny_model()
    dataset = Dataset.from_list(rows() * 4)
    args = SFTConfig(output_dir=str(tmp_path), max_steps=4, per_device_train_batch_size=2, learning_rate=1e-2,
                     logging_steps=1, report_to="none", use_cpu=True, save_strategy="no",
                     remove_unused_columns=False, dataset_kwargs={"skip_prepare_dataset": True})
    # The rows are tokenized already; the trainer still wants a tokenizer (made here, no hub).
    vocab = {"<pad>": 0, **{f"t{i}": i for i in range(1, 32)}}
    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel(vocab, unk_token="<pad>")), pad_token="<pad>")
    trainer = WeightedSFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tok,
                                 data_collator=WeightedCollator(0))
    trainer.train()
    losses = [row["loss"] for row in trainer.state.log_history if "loss" in row]
    assert len(losses) == 4 and losses[-1] < losses[0], losses
