"""Stubs of the Rust extension module (records cross as JSON text; see tracealign/__init__.py)."""

from os import PathLike
from typing import List, Optional, Tuple, Union

__version__: str

class Executor:
    def __init__(
        self,
        *,
        path: Optional[Union[str, PathLike[str]]] = None,
        text: Optional[str] = None,
        jobs: Optional[int] = None,
        python: Optional[Union[str, PathLike[str]]] = None,
        memory_mb: Optional[int] = None,
        timeout_s: Optional[float] = None,
        trace: bool = False,
    ) -> None: ...
    def program(self, problem_id: str, text: str, format: str = "auto") -> str: ...
    def problem_ids(self) -> List[str]: ...
    def evaluate(self, samples: str) -> str: ...
    def localize(self, executions: str, method: str = "combined") -> str: ...
    def render_trace(self, execution: str, style: str = "lines", budget: Optional[int] = None) -> Optional[str]: ...

def reward(execution: str, scheme: str) -> float: ...
def dense(execution: str, scheme: str, report: Optional[str] = None) -> Tuple[List[float], List[float]]: ...
