"""newswatch: watches news sources and alerts on new developments on the topics you track."""

from __future__ import annotations

from typing import Any


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # ~70 ms: only when asked

    try:
        return version("newswatch")
    except PackageNotFoundError:  # a source checkout that was never installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value = _version()
        globals()["__version__"] = value
        return value
    raise AttributeError(f"module 'newswatch' has no attribute {name!r}")
