"""Prefect's Flow without a cost a newswatch cycle of a few seconds needn't pay (measured in
benchmarks/prefect_cost.py): a fastapi import for JSON parameters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from prefect import Flow
from prefect.task_runners import TaskRunner

P = ParamSpec("P")
R = TypeVar("R")


def _is_json(value: object) -> bool:
    if value is None or isinstance(value, str | int | float | bool):
        return True
    if isinstance(value, list | tuple):
        return all(_is_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return False


class LeanFlow(Flow[P, R]):
    """A Flow whose JSON parameters (paths, names, numbers: all newswatch flows take) are sent
    to the API as they are when a run is created.

    Prefect passes each parameter through fastapi's `jsonable_encoder`, which returns such values
    unchanged but costs a first import of fastapi: 0.17-0.35 s per `newswatch run` here. Anything
    else still goes through Prefect's own path.
    """

    def serialize_parameters(self, parameters: dict[str, Any]) -> dict[str, Any]:
        if all(_is_json(v) for v in parameters.values()):
            return {k: list(v) if isinstance(v, tuple) else v for k, v in parameters.items()}
        return super().serialize_parameters(parameters)


def lean_flow(
    name: str, task_runner: TaskRunner[Any] | None = None
) -> Callable[[Callable[P, R]], Flow[P, R]]:
    """`@flow(name=..., task_runner=...)`, making a LeanFlow."""

    def make(fn: Callable[P, R]) -> Flow[P, R]:
        return LeanFlow(fn, name=name, task_runner=task_runner)

    return make
