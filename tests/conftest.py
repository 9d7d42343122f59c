"""Shared fixtures: a real PostgreSQL server, and a store on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from newswatch.store import Store
from tests import pgserver


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A live PostgreSQL; in CI its absence is a failure, locally a skip."""
    if not pgserver.available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed; .ci/run installs it")
        pytest.skip("PostgreSQL server binaries are not installed")
    with pgserver.postgres() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The same store tests on SQLite and on a real PostgreSQL (a fresh database each)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/nw.db"
    else:
        url = pgserver.fresh_database(request.getfixturevalue("postgres_url"))
    s = Store.open(url)
    yield s
    s.close()
