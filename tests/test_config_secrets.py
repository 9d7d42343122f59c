"""Config keys of the ecosystem work: `${prefect:secret/NAME}` through a resolver, `feeds_dir`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from newswatch.config import DEFERRED_SECRET, defer_secrets, load_config
from newswatch.errors import ConfigError

BASE = (
    "sources:\n  - name: a\n    feed: https://example.org/a.xml\n"
    "topics:\n  - name: talks\n    any: [talks]\n"
)
TOKEN = "xoxb-s3cret-t0ken"


def _config(tmp_path: Path, url: str, extra: str = "") -> Path:
    path = tmp_path / "newswatch.yaml"
    channel = f'channels:\n  - name: desk\n    url: "{url}"\n    topics: [talks]\n'
    path.write_text(BASE + channel + extra, encoding="utf-8")
    return path


def _vault(name: str) -> str:
    if name == "slack-token":
        return TOKEN
    raise LookupError("no Secret block of that name on http://prefect.test/api")


def test_a_secret_block_fills_its_part_of_the_url(tmp_path: Path) -> None:
    path = _config(tmp_path, "slack://${prefect:secret/slack-token}/#desk")
    config = load_config(path, env={}, secrets=_vault)
    assert config.channels[0].url == f"slack://{TOKEN}/#desk"
    literal = load_config(_config(tmp_path, "json://h/$${prefect:secret/x}"), env={})
    assert literal.channels[0].url == "json://h/${prefect:secret/x}"


@pytest.mark.parametrize(
    ("url", "secrets", "problem"),
    [
        (
            "slack://${prefect:secret/no-such}/#desk",
            _vault,
            "Prefect Secret block 'no-such': no Secret block of that name",
        ),
        ("slack://${prefect:secret/slack-token}/#d", None, "not available to this command"),
    ],
    ids=["unknown-name", "no-resolver"],
)
def test_a_secret_that_cannot_be_had_is_a_config_error_naming_the_channel(
    tmp_path: Path, url: str, secrets: object, problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(_config(tmp_path, url), env={}, secrets=secrets)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "channels[0].url" in message and problem in message, message


def test_a_bad_url_made_with_a_secret_never_shows_the_secret(tmp_path: Path) -> None:
    path = _config(tmp_path, "${prefect:secret/slack-token}")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={}, secrets=_vault)
    assert "channels[0].url" in str(caught.value) and TOKEN not in str(caught.value)


def test_a_deferred_secret_validates_the_rest(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, "${prefect:secret/any}"), env={}, secrets=defer_secrets)
    assert config.channels[0].url == DEFERRED_SECRET


def test_the_cli_without_a_prefect_server_says_where_the_secret_must_come_from(
    tmp_path: Path,
) -> None:
    path = _config(tmp_path, "slack://${prefect:secret/slack-token}/#desk")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    done = subprocess.run(
        [sys.executable, "-m", "newswatch", "check", "-c", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "channels[0].url" in done.stderr and "set PREFECT_API_URL" in done.stderr


@pytest.mark.parametrize(
    ("value", "expected"),
    [("feeds", "{here}/feeds"), ("/srv/feeds", "/srv/feeds"), (None, None)],
)
def test_feeds_dir_is_relative_to_the_config_file(
    tmp_path: Path, value: str | None, expected: str | None
) -> None:
    extra = f"feeds_dir: {value}\n" if value else ""
    config = load_config(_config(tmp_path, "json://h/", extra), env={})
    want = expected.format(here=tmp_path) if expected else None
    assert config.feeds_dir == want
