"""Ray Data: evaluate completions in ``Dataset.map_batches`` with one executor per actor.

    import ray
    from tracealign.ray import EvaluateBatch

    ds = ray.data.read_json("samples.jsonl")          # task_id, completion
    ds = ds.map_batches(EvaluateBatch, fn_constructor_kwargs={"problems": "HumanEval.jsonl.gz"},
                        concurrency=2, batch_size=64)

Each actor starts its own :class:`tracealign.Executor` once (warm workers, problems prepared)
and reuses it for every batch; give each actor ``jobs`` workers so that actors × jobs fits the
cores (``num_cpus`` on ``map_batches`` reserves them).
"""

from __future__ import annotations

import json
from typing import Any, Dict, Optional

from . import Executor, reward


class EvaluateBatch:
    """A callable class for ``map_batches``: adds ``passed``, ``reward`` (``scheme``),
    ``outcomes`` (each test's outcome, as JSON text) and ``run`` (the runs-file record, as
    JSON text) to each batch of ``completion_column`` / ``id_column`` rows."""

    def __init__(
        self,
        problems: str,
        *,
        completion_column: str = "completion",
        id_column: str = "task_id",
        sample_id_column: Optional[str] = None,
        format: str = "auto",
        scheme: str = "pass_ratio",
        jobs: Optional[int] = 1,
        **options: Any,
    ) -> None:
        self.executor = Executor(problems, jobs=jobs, **options)
        self.completion_column, self.id_column = completion_column, id_column
        self.sample_id_column, self.format, self.scheme = sample_id_column, format, scheme

    def __call__(self, batch: Dict[str, Any]) -> Dict[str, Any]:
        completions = [str(c) for c in batch[self.completion_column]]
        ids = [str(i) for i in batch[self.id_column]]
        sample_ids = None
        if self.sample_id_column is not None:
            sample_ids = [str(s) for s in batch[self.sample_id_column]]
        runs = self.executor.evaluate(completions, ids, sample_ids=sample_ids, format=self.format)
        out = dict(batch)
        out["passed"] = [r["passed"] for r in runs]
        out["reward"] = [reward(r, self.scheme) for r in runs]
        out["outcomes"] = [json.dumps([t["outcome"] for t in r["tests"]]) for r in runs]
        out["run"] = [json.dumps(r) for r in runs]
        return out
