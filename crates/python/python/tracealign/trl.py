"""Weighted SFT for TRL: train on ``tracealign build sft --tokenizer`` rows with their FAIT
per-token weights.

TRL's trainers take no per-token float weights, so this is the small piece they lack:
:class:`WeightedCollator` pads the rows' ``input_ids``, ``attention_mask``, ``labels`` and
``weights``; :class:`WeightedSFTTrainer` (a ``trl.SFTTrainer``) computes the causal-LM loss
with each target token's cross-entropy multiplied by its weight (the mean over trained tokens,
so all-ones weights give the ordinary loss)::

    from datasets import load_dataset
    from trl import SFTConfig
    from tracealign.trl import WeightedCollator, WeightedSFTTrainer

    rows = load_dataset("json", data_files="sft.jsonl")["train"]       # built with --tokenizer
    args = SFTConfig(output_dir="out", remove_unused_columns=False,
                     dataset_kwargs={"skip_prepare_dataset": True})
    trainer = WeightedSFTTrainer(model=model, args=args, train_dataset=rows,
                                 data_collator=WeightedCollator(tokenizer.pad_token_id))
"""

from __future__ import annotations

from typing import Any, Dict, List

import torch
import trl


def weighted_causal_lm_loss(logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The mean over target tokens (labels ≠ -100) of cross-entropy × weight; position t's
    logits predict token t + 1, as in a causal LM's own loss."""
    logits, labels, weights = logits[:, :-1, :], labels[:, 1:], weights[:, 1:].to(logits.dtype)
    trained = labels != -100
    losses = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]).float(), labels.clamp_min(0).reshape(-1), reduction="none"
    ).reshape(labels.shape)
    return (losses * weights * trained).sum() / trained.sum().clamp_min(1)


class WeightedCollator:
    """Pads rows to the batch's longest: ``input_ids`` with ``pad_token_id``,
    ``attention_mask`` and ``weights`` with 0, ``labels`` with -100."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, rows: List[Dict[str, Any]]) -> Dict[str, torch.Tensor]:
        width = max(len(r["input_ids"]) for r in rows)
        pads = {"input_ids": self.pad_token_id, "attention_mask": 0, "labels": -100, "weights": 0.0}
        batch = {}
        for key, pad in pads.items():
            dtype = torch.float32 if key == "weights" else torch.long
            batch[key] = torch.tensor([list(r[key]) + [pad] * (width - len(r[key])) for r in rows], dtype=dtype)
        return batch


class WeightedSFTTrainer(trl.SFTTrainer):
    """``trl.SFTTrainer`` whose loss weighs each target token by the row's ``weights``."""

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):  # noqa: D102
        weights = inputs.pop("weights")
        labels = inputs.pop("labels")
        outputs = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
        loss = weighted_causal_lm_loss(outputs.logits, labels, weights)
        return (loss, outputs) if return_outputs else loss
