"""Compile newswatch's own modules to bytecode before a benchmark times whole processes.

An installed package has its bytecode written at install time (pip and uv compile wheels), and
a normal checkout writes it on first import. A shell with PYTHONDONTWRITEBYTECODE set (this
machine's has) writes none, so every `newswatch run` would compile our ~90 modules from source
again, about 0.15 s, while the plain script's libraries load compiled. `make install` compiles
them too; this makes the benchmarks independent of how the checkout was installed.
"""

from __future__ import annotations

import compileall
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("newswatch", "parsers", "flows")


def compile_project(checkout: Path = REPO) -> None:
    """Write (or refresh) the bytecode of the project's packages in `checkout`; quiet."""
    for package in PACKAGES:
        folder = checkout / package
        if folder.is_dir() and not compileall.compile_dir(folder, quiet=2):
            raise SystemExit(f"could not compile {folder} to bytecode")
