"""Reward functions for RL trainers, in the signatures they call.

- :class:`TrlReward`: a ``reward_funcs`` entry for TRL's ``GRPOTrainer`` — called with
  ``prompts``, ``completions``, ``completion_ids`` and the dataset's columns as keyword
  arguments; returns one float per completion (``None`` where the row has no problem id).
- :func:`verl_compute_score`: verl's ``custom_reward_function`` signature,
  ``compute_score(data_source, solution_str, ground_truth, extra_info=None)``.
- :class:`PredictionReward`: a ``reward_funcs`` entry for execution prediction (TRACED,
  CRUXEval): the dataset is ``tracealign build traced``'s rows (or CRUXEval's records), and
  each completion is judged by running it, the checker's verdict its reward.

Both run the completions on a shared :class:`tracealign.Executor` (one per problem file and
process), so a trainer pays for preparing the problems once.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Dict, List, Optional, Sequence

import json

from . import Executor, SCALAR_SCHEMES, _native, reward

_executors: Dict[str, Executor] = {}
_lock = threading.Lock()


def shared_executor(problems: str, **options: Any) -> Executor:
    """One executor per problem file in this process, started on first use."""
    key = os.path.abspath(problems)
    with _lock:
        if key not in _executors:
            _executors[key] = Executor(problems, **options)
        return _executors[key]


def _text(completion: Any) -> str:
    """A completion as text: TRL passes strings, or for conversational datasets a list of
    messages whose last one is the model's."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content", ""))
    raise TypeError(f"a completion must be a string or a list of messages, not {type(completion).__name__}")


class TrlReward:
    """``GRPOTrainer(reward_funcs=[TrlReward("HumanEval.jsonl.gz")], ...)``.

    The dataset needs a column naming each row's problem (``id_column``, default
    ``task_id``). ``scheme`` is one of :data:`tracealign.SCALAR_SCHEMES`; TRL logs the
    rewards under ``__name__`` (``tracealign_<scheme>``).
    """

    def __init__(self, problems: str, scheme: str = "pass_ratio", id_column: str = "task_id", **options: Any):
        if scheme not in SCALAR_SCHEMES:
            raise ValueError(f"unknown scheme `{scheme}`: expected one of {', '.join(SCALAR_SCHEMES)}")
        self.problems, self.scheme, self.id_column, self.options = problems, scheme, id_column, options
        self.__name__ = f"tracealign_{scheme}"

    def __call__(self, prompts: Sequence[Any] = (), completions: Sequence[Any] = (), completion_ids: Any = None, **columns: Any) -> List[Optional[float]]:
        ids = columns.get(self.id_column)
        if ids is None:
            raise KeyError(f"the dataset has no `{self.id_column}` column (TrlReward(id_column=...) names it)")
        rows = [i for i, pid in enumerate(ids) if pid is not None]
        rewards: List[Optional[float]] = [None] * len(completions)
        if rows:
            executor = shared_executor(self.problems, **self.options)
            runs = executor.evaluate([_text(completions[i]) for i in rows], [ids[i] for i in rows])
            for i, run in zip(rows, runs):
                rewards[i] = reward(run, self.scheme)
        return rewards


class AsyncTrlReward(TrlReward):
    """:class:`TrlReward` for trainers that await their reward functions."""

    async def __call__(self, prompts: Sequence[Any] = (), completions: Sequence[Any] = (), completion_ids: Any = None, **columns: Any) -> List[Optional[float]]:  # type: ignore[override]
        import asyncio

        return await asyncio.to_thread(TrlReward.__call__, self, prompts, completions, completion_ids, **columns)


def verl_compute_score(data_source: str, solution_str: str, ground_truth: Any, extra_info: Optional[Dict[str, Any]] = None) -> float:
    """verl's ``custom_reward_function``: ``ground_truth`` (or ``extra_info["problem_id"]``)
    names the problem; the problem file comes from ``extra_info["problems"]`` or the
    ``TRACEALIGN_PROBLEMS`` environment variable; ``extra_info["scheme"]`` picks the scheme
    (default ``pass_ratio``)."""
    extra_info = extra_info or {}
    problems = extra_info.get("problems") or os.environ.get("TRACEALIGN_PROBLEMS")
    if not problems:
        raise ValueError("no problem file: set TRACEALIGN_PROBLEMS or extra_info['problems']")
    problem_id = extra_info.get("problem_id") or ground_truth
    run = shared_executor(problems).evaluate([solution_str], [str(problem_id)])[0]
    return reward(run, extra_info.get("scheme", "pass_ratio"))


_checkers: Dict[str, "_native.PredictionChecker"] = {}


def _checker(python: Optional[str]) -> "_native.PredictionChecker":
    """One checker per interpreter in this process, started on first use."""
    key = python or ""
    with _lock:
        if key not in _checkers:
            _checkers[key] = _native.PredictionChecker(python=python)
        return _checkers[key]


def _plain(value: Any) -> Any:
    """A dataset cell as JSON-ready data (Arrow hands back lists and dicts already)."""
    return value.tolist() if hasattr(value, "tolist") else value


class PredictionReward:
    """``GRPOTrainer(reward_funcs=[PredictionReward()], train_dataset=rows)`` on execution
    prediction rows: ``tracealign build traced``'s JSONL (``load_dataset("json", ...)``) or
    CRUXEval's records (``id``, ``code``, ``input``, ``output``: output prediction). Each
    completion is cut to its answer and judged by running it in tracealign's sandbox (values
    read as literals and compared with Python's ``==`` and types; ``input`` answers called;
    paths and states per element): 1.0 right, 0.0 wrong, or with ``partial=True`` the
    checker's partial credit (a path's common prefix, a state's share of variables).
    """

    def __init__(self, partial: bool = False, python: Optional[str] = None):
        self.partial, self.python = partial, python
        self.__name__ = "tracealign_prediction_credit" if partial else "tracealign_prediction"

    def __call__(self, prompts: Sequence[Any] = (), completions: Sequence[Any] = (), completion_ids: Any = None, **columns: Any) -> List[float]:
        checker = _checker(self.python)
        # The dataset's columns, one value per completion; TRL passes other keywords too
        # (``trainer_state``).
        cells = {key: values for key, values in columns.items()
                 if isinstance(values, (list, tuple)) and len(values) == len(completions)}
        rewards = []
        for i, completion in enumerate(completions):
            row = {key: _plain(values[i]) for key, values in cells.items()}
            # TRL passes the prompt apart; a row of ours carries it (and its right completion).
            if "kind" in row:
                prompt = prompts[i] if i < len(prompts) else ""
                row.setdefault("prompt", prompt if isinstance(prompt, str) else "")
                row.setdefault("completion", "")
            correct, credit = checker.judge(json.dumps(row), _text(completion))
            rewards.append(credit if self.partial else float(correct))
        return rewards