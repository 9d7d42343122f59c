"""Prefect's Flow without two costs a newswatch cycle of a few seconds needn't pay (measured in
benchmarks/prefect_cost.py): a fastapi import for JSON parameters, and the heartbeat wait."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from prefect import Flow
from prefect.settings import (
    PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
    get_current_settings,
    temporary_settings,
)

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


def lean_flow(name: str) -> Callable[[Callable[P, R]], Flow[P, R]]:
    """`@flow(name=...)`, making a LeanFlow."""

    def make(fn: Callable[P, R]) -> Flow[P, R]:
        return LeanFlow(fn, name=name)

    return make


@contextmanager
def command_flow_run() -> Iterator[None]:
    """Settings for a flow run the `newswatch` command runs in its own process, for a cycle.

    Prefect 3.9 sends flow-run heartbeats by default (every 180 s) from a thread that sleeps in
    1-s steps, and waits for that thread when the run ends: up to 1 s (0.3-0.9 s measured) added
    to every run. Heartbeats drive zombie detection for runs started by deployments (workers and
    `newswatch serve`), which this leaves alone; a command's run is in the user's terminal. Set
    PREFECT_FLOWS_HEARTBEAT_FREQUENCY (or a profile) to keep them here too.
    """
    if "heartbeat_frequency" in get_current_settings().flows.model_fields_set:
        yield
        return
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield
