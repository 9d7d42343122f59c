"""Shared fixtures: a real PostgreSQL server for the tests that need one."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

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
