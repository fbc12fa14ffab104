"""tracealign from Python: run model-written programs safely, score them, localize their faults.

The heavy lifting is tracealign's Rust library (``tracealign._native``); records come back in
the same shapes as the CLI's files: :meth:`Executor.evaluate` returns runs-file records
(one dict per program, every test's outcome), :meth:`Executor.localize` faults-file records.

    from tracealign import Executor, reward
    ex = Executor("HumanEval.jsonl.gz")
    runs = ex.evaluate(["    return sorted(xs)\\n"], ["HumanEval/0"])
    reward(runs[0], "pass_ratio")

Programs run with the GIL released: threads (or :meth:`Executor.aevaluate` from asyncio)
share the executor's warm workers.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy

from . import _native

__all__ = ["Executor", "reward", "dense_rewards", "DenseRewards", "token_spans", "SCALAR_SCHEMES", "__version__"]
__version__: str = _native.__version__

#: The scalar reward schemes :func:`reward` takes (see ``tracealign build rewards --help``).
SCALAR_SCHEMES = ("binary", "pass_ratio", "rltf", "adaptive")

Record = Dict[str, Any]
PathLike = Union[str, "os.PathLike[str]"]


class Executor:
    """A pool of warm, sandboxed Python workers with a problem set prepared for it.

    ``problems`` is a file in any format the CLI reads (tracealign, HumanEval, MBPP, EvalPlus;
    JSON Lines or a JSON array, gzipped or not) or a list of such records. Preparing runs each
    reference solution once, to set the time limits. ``jobs`` defaults to one worker per core.
    With ``trace=True`` every run records a full trace (needed by :meth:`localize`'s trace
    signals; slower).
    """

    def __init__(
        self,
        problems: Union[PathLike, Sequence[Record]],
        *,
        jobs: Optional[int] = None,
        python: Optional[PathLike] = None,
        memory_mb: Optional[int] = None,
        timeout_s: Optional[float] = None,
        trace: bool = False,
    ) -> None:
        if isinstance(problems, (str, os.PathLike)):
            source = {"path": os.fspath(problems)}
        else:
            source = {"text": "\n".join(json.dumps(p) for p in problems)}
        self._native = _native.Executor(
            **source,
            jobs=jobs,
            python=None if python is None else os.fspath(python),
            memory_mb=memory_mb,
            timeout_s=timeout_s,
            trace=trace,
        )

    @property
    def problem_ids(self) -> List[str]:
        """The problems' ids, in the order given."""
        return self._native.problem_ids()

    def program(self, problem_id: str, text: str, format: str = "auto") -> str:
        """The program ``text`` stands for: ``completion`` continues the prompt, ``chat`` is a
        reply with the function (or its body) in a code block, ``program`` is whole as it is;
        ``auto`` decides between the first two."""
        return self._native.program(problem_id, text, format)

    def evaluate(
        self,
        completions: Sequence[str],
        problem_ids: Sequence[str],
        *,
        sample_ids: Optional[Sequence[str]] = None,
        format: str = "auto",
    ) -> List[Record]:
        """Runs each completion against its problem's tests; one runs-file record per
        completion, in order (``passed``, ``tests`` with each test's ``outcome``, ...)."""
        samples = self._samples(completions, problem_ids, sample_ids, format)
        return json.loads(self._native.evaluate(json.dumps(samples)))

    async def aevaluate(
        self,
        completions: Sequence[str],
        problem_ids: Sequence[str],
        *,
        sample_ids: Optional[Sequence[str]] = None,
        format: str = "auto",
    ) -> List[Record]:
        """:meth:`evaluate` from asyncio, on a thread (the GIL is released while it runs)."""
        return await asyncio.to_thread(
            self.evaluate, completions, problem_ids, sample_ids=sample_ids, format=format
        )

    def rewards(
        self,
        completions: Sequence[str],
        problem_ids: Sequence[str],
        scheme: str = "pass_ratio",
        *,
        format: str = "auto",
    ) -> List[float]:
        """One scalar reward per completion (see :data:`SCALAR_SCHEMES`)."""
        runs = self.evaluate(completions, problem_ids, format=format)
        return [reward(run, scheme) for run in runs]

    def localize(self, executions: Sequence[Record], method: str = "combined") -> List[Optional[Record]]:
        """A fault report per execution (``None`` where none is made), in order: every line's
        suspiciousness by ``method`` (``combined``, ``divergence``, ``ochiai``, ...)."""
        return json.loads(self._native.localize(json.dumps(list(executions)), method))

    def render_trace(self, execution: Record, style: str = "lines", budget: Optional[int] = None) -> Optional[str]:
        """The first failing test's trace (from a ``trace=True`` executor) as text for a repair
        prompt: ``lines``, ``blocks``, ``inline`` or ``summary``, within ``budget`` tokens
        (4 characters each); ``None`` for a program with no traced failing test."""
        return self._native.render_trace(json.dumps(execution), style, budget)

    def build_rows(
        self,
        kind: str,
        executions: Sequence[Record],
        reports: Optional[Sequence[Optional[Record]]] = None,
        *,
        tokenizer: Optional[PathLike] = None,
        mutants: int = 0,
    ) -> Tuple[List[Record], str]:
        """Training rows as ``tracealign build KIND`` writes them, from Python objects:
        ``sft`` (FAIT weights), ``dpo`` (pairs with fault masks), ``repair`` (prompts with
        feedback) or ``rewards``; returns ``(rows, summary)``. ``reports`` are the executions'
        fault reports (:meth:`localize`); with ``tokenizer`` (a tokenizer.json) rows carry
        token columns and per-token weights."""
        reports_json = None
        if reports is not None:
            reports_json = json.dumps([r for r in reports if r is not None])
        rows, summary = self._native.build_rows(
            kind,
            json.dumps(list(executions)),
            reports_json,
            None if tokenizer is None else os.fspath(tokenizer),
            mutants,
        )
        return json.loads(rows), summary

    def divergence(self, execution: Record) -> Optional[Record]:
        """Where a failing program (from a ``trace=True`` executor) first departs from the
        reference solution: ``{test, line, start, end, divergence}``, ``start``/``end`` the
        line's character span in the program (``run["code"]``); ``None`` when it does not."""
        return json.loads(self._native.divergence(json.dumps(execution)))

    def _samples(self, completions, problem_ids, sample_ids, format) -> List[Record]:
        if len(completions) != len(problem_ids):
            raise ValueError(
                f"{len(completions)} completions but {len(problem_ids)} problem ids"
            )
        if sample_ids is None:
            sample_ids = [f"{pid}#{i}" for i, pid in enumerate(problem_ids)]
        elif len(sample_ids) != len(completions):
            raise ValueError(f"{len(completions)} completions but {len(sample_ids)} sample ids")
        return [
            {"problem_id": pid, "sample_id": sid, "code": self.program(pid, text, format)}
            for text, pid, sid in zip(completions, problem_ids, sample_ids)
        ]


def reward(execution: Record, scheme: str = "pass_ratio") -> float:
    """The scalar reward of one execution (a record from :meth:`Executor.evaluate`)."""
    return _native.reward(json.dumps(execution), scheme)


@dataclass
class DenseRewards:
    """A program's dense reward (numpy arrays): one value per line and per character of the program and,
    when token offsets were given, one per token of the completion (the value of the token's
    character farthest from 0: what a verl RewardManager writes into its reward tensor)."""

    lines: "numpy.ndarray"
    chars: "numpy.ndarray"
    tokens: Optional["numpy.ndarray"] = None


def dense_rewards(
    execution: Record,
    report: Optional[Record] = None,
    *,
    scheme: str = "fault_penalty",
    text: Optional[str] = None,
    offsets: Optional[Sequence[Tuple[int, int]]] = None,
    token_ids: Optional[Sequence[int]] = None,
    tokenizer: Any = None,
) -> DenseRewards:
    """Per-line, per-character and per-token rewards of one execution.

    ``fault_penalty`` (negative on the lines its fault ``report`` finds suspicious, from
    :meth:`Executor.localize`) or ``error_line`` (on the line that raised). With ``offsets``
    (character spans of the caller's tokens in ``text``, the model's completion as generated:
    e.g. a ``tokenizers`` encoding's ``offsets``), the values are carried onto the tokens:
    ``text``'s characters are found in the program (a completion that continued the prompt,
    or the code block of a chat reply); tokens outside it get 0. Instead of offsets, the
    generated ``token_ids`` and their ``tokenizer`` (a ``tokenizers.Tokenizer`` or a
    Hugging Face tokenizer: anything with ``decode(ids)``) give the spans, by decoding growing
    prefixes; ``text`` is then their decoding unless given.
    """
    lines, chars = _native.dense(
        json.dumps(execution), scheme, None if report is None else json.dumps(report)
    )
    if token_ids is not None:
        if tokenizer is None:
            raise ValueError("token_ids need their tokenizer (tokenizer=)")
        offsets = token_spans(tokenizer, token_ids)
        text = tokenizer.decode(list(token_ids)) if text is None else text
    if offsets is None:
        return DenseRewards(numpy.asarray(lines), numpy.asarray(chars))
    if text is None:
        raise ValueError("offsets need the text they index (text=)")
    shift = _text_in_program(text, execution["code"])
    tokens = []
    for start, end in offsets:
        covered = [chars[i - shift] for i in range(start, end) if 0 <= i - shift < len(chars)]
        tokens.append(max(covered, key=abs, default=0.0))
    return DenseRewards(numpy.asarray(lines), numpy.asarray(chars), numpy.asarray(tokens))


def _text_in_program(text: str, program: str) -> int:
    """How far the program's characters are shifted from the text's: where the text's code
    stands in the program. A completion that continued the prompt ends the program (cut at
    its stop sequence); a chat reply's code block is in the program as written."""
    at = program.find(text)
    if at >= 0:
        return -at
    # The longest head of the text that ends the program (a completion cut where the
    # function ended), else the longest line-aligned run of the program found in the text
    # (a reply's code block).
    for k in range(len(text), 0, -1):
        if program.endswith(text[:k]):
            return -(len(program) - k)
    lines = program.splitlines(keepends=True)
    for i in range(len(lines)):
        tail = "".join(lines[i:])
        at = text.find(tail)
        if at >= 0 and tail.strip():
            return at - len("".join(lines[:i]))
    raise ValueError("the text's code is not in the program: pass the text the program came from")


def token_spans(tokenizer: Any, token_ids: Sequence[int]) -> List[Tuple[int, int]]:
    """Each token's character span in the decoding of ``token_ids``: decoding grows by
    prefixes, so a character split across tokens (multi-byte pieces) lands on the token that
    completes it."""
    ids, spans, previous = list(token_ids), [], 0
    for k in range(1, len(ids) + 1):
        end = max(previous, len(tokenizer.decode(ids[:k])))
        spans.append((previous, end))
        previous = end
    return spans
