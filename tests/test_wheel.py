"""The wheel `uv build` makes, installed into a fresh venv, runs `newswatch` and its demo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 240


def _uv() -> str:
    """uv as the Makefile finds it: on PATH, else the copy `make` installs under .tools/."""
    found = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    assert Path(found).exists(), "no uv: run `make install` first"
    return found


def _run(*args: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_the_installed_wheel_runs_help_version_and_the_demo(tmp_path: Path) -> None:
    uv = _uv()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env = {k: v for k, v in env.items() if not k.startswith(("PREFECT_", "NEWSWATCH_"))}
    dist, venv, elsewhere = tmp_path / "dist", tmp_path / "venv", tmp_path / "elsewhere"
    elsewhere.mkdir()
    _run(uv, "build", "--wheel", "-q", "--out-dir", str(dist), cwd=ROOT, env=env)
    (wheel,) = dist.glob("newswatch-*.whl")
    # The lock's versions (all in uv's cache already), so the install is quick and offline-safe.
    locked = tmp_path / "locked.txt"
    export = ("export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project", "-q")
    locked.write_text(_run(uv, *export, cwd=ROOT, env=env))
    _run(uv, "venv", "-q", "--python", sys.executable, str(venv), cwd=tmp_path, env=env)
    install_env = {**env, "VIRTUAL_ENV": str(venv)}
    _run(uv, "pip", "install", "-q", "-c", str(locked), str(wheel), cwd=tmp_path, env=install_env)
    newswatch = str(venv / "bin" / "newswatch")
    assert "import-opml" in _run(newswatch, "--help", cwd=elsewhere, env=env)
    version = _run(newswatch, "--version", cwd=elsewhere, env=env)
    assert version.strip() == "newswatch " + _project_version()
    demo = _run(newswatch, "demo", "--fast", cwd=elsewhere, env=env)
    assert "chat message(s)" in demo and "bundled/config/demo.yaml" in demo, demo[-2000:]
    assert (elsewhere / "state" / "demo" / "newswatch.db").exists()


def _project_version() -> str:
    import tomllib

    with open(ROOT / "pyproject.toml", "rb") as fh:
        return str(tomllib.load(fh)["project"]["version"])
