"""verl: a reward manager that writes tracealign's per-token rewards into verl's reward tensor.

verl scores a rollout batch with a *reward manager*: called with the batch (a ``DataProto``
holding ``prompts``, ``responses`` and ``attention_mask``, and per row ``reward_model.
ground_truth``), it returns a ``(batch, response_length)`` tensor. verl's own managers put one
scalar on each response's last token. :class:`TokenRewardManager` puts the scalar there too
(``scheme``, default ``pass_ratio``) and adds, on every token of a failing program, its dense
reward (``dense_scheme``: ``fault_penalty``, negative on the lines tracealign's localization
finds suspicious, or ``error_line``), so the credit lands where the program went wrong.

``ground_truth`` names the problem; the problems come from ``problems=`` or
``$TRACEALIGN_PROBLEMS``. Importing this module registers the manager with verl as
``tracealign`` when verl is installed (``reward_model.reward_manager=tracealign``).
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional

from . import Executor, dense_rewards, reward, token_spans


class TokenRewardManager:
    """verl's reward-manager interface: ``__init__(tokenizer, num_examine, compute_score,
    reward_fn_key, **kwargs)`` and ``__call__(data, return_dict=False)``."""

    def __init__(
        self,
        tokenizer: Any,
        num_examine: int = 0,
        compute_score: Any = None,
        reward_fn_key: str = "data_source",
        *,
        problems: Optional[str] = None,
        scheme: str = "pass_ratio",
        dense_scheme: str = "fault_penalty",
        dense_weight: float = 1.0,
        format: str = "auto",
        jobs: Optional[int] = None,
        **_: Any,
    ) -> None:
        problems = problems or os.environ.get("TRACEALIGN_PROBLEMS")
        if not problems:
            raise ValueError("no problem file: pass problems= or set TRACEALIGN_PROBLEMS")
        self.tokenizer, self.reward_fn_key = tokenizer, reward_fn_key
        self._decoder = _SkippingSpecial(tokenizer)
        self.scheme, self.dense_scheme, self.dense_weight, self.format = scheme, dense_scheme, dense_weight, format
        # Traced runs: fault_penalty needs the fault reports that traces make possible.
        self.executor = Executor(problems, jobs=jobs, trace=dense_scheme == "fault_penalty")

    def __call__(self, data: Any, return_dict: bool = False) -> Any:
        import torch

        responses = data.batch["responses"]
        rewards = torch.zeros_like(responses, dtype=torch.float32)
        prompt_length = data.batch["prompts"].shape[-1]
        lengths = [int(data.batch["attention_mask"][i][prompt_length:].sum()) for i in range(len(data))]
        ids = [responses[i][:n].tolist() for i, n in enumerate(lengths)]
        texts = [self.tokenizer.decode(t, skip_special_tokens=True) for t in ids]
        problems = [str(gt["ground_truth"]) for gt in data.non_tensor_batch["reward_model"]]
        runs = self.executor.evaluate(texts, problems, format=self.format)
        reports = self.executor.localize(runs) if self.dense_scheme == "fault_penalty" else [None] * len(runs)
        scores: List[float] = []
        for i, (run, report) in enumerate(zip(runs, reports)):
            score = reward(run, self.scheme)
            scores.append(score)
            if lengths[i] == 0:
                continue
            if not run["passed"]:
                dense = dense_rewards(run, report, scheme=self.dense_scheme, text=texts[i],
                                      offsets=token_spans(self._decoder, ids[i]))
                rewards[i, : lengths[i]] = self.dense_weight * torch.tensor(dense.tokens, dtype=torch.float32)
            rewards[i, lengths[i] - 1] += score
        if return_dict:
            extra: Dict[str, List[Any]] = {"tracealign_score": scores, "tracealign_passed": [r["passed"] for r in runs]}
            return {"reward_tensor": rewards, "reward_extra_info": extra}
        return rewards


try:  # Registered with verl when it is installed, so a config can name it.
    from verl.workers.reward_manager import register

    register("tracealign")(TokenRewardManager)
except Exception:  # noqa: BLE001 - verl absent, or an older verl without the registry
    pass


class _SkippingSpecial:
    """The tokenizer's decoding without special tokens, as the manager decodes responses."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer

    def decode(self, ids: List[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)
