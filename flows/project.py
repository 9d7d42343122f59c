"""prefect.yaml's pull step: every flow run starts in the newswatch checkout, or says why not.

`NEWSWATCH_DIR` is optional. Prefect resolves `{{ $NEWSWATCH_DIR }}` when `prefect deploy` runs
and keeps the template text itself when the variable is unset; either way this step falls back
to the checkout this package is installed from (`make install` installs it in editable mode),
so a worker started with the project's virtualenv finds the project without it.
"""

from __future__ import annotations

import os
from pathlib import Path

from newswatch.errors import NewswatchError

CHECKOUT = Path(__file__).resolve().parents[1]


class ProjectNotFound(NewswatchError):
    """The flow run cannot find the newswatch checkout on this machine."""


def enter_project(directory: str = "") -> dict[str, str]:
    """Change to the checkout (`directory`, or this package's when unset); one clear line if not
    there."""
    given = directory.strip()
    target = Path(given).expanduser() if given and "{{" not in given else CHECKOUT
    if not (target / "flows" / "monitor.py").is_file():
        raise ProjectNotFound(
            f"newswatch checkout not found at {target} on this machine: set NEWSWATCH_DIR to "
            "the checkout when you run `prefect deploy`, and start the worker with that "
            "checkout's .venv/bin/prefect"
        )
    os.chdir(target)
    return {"directory": str(target)}
