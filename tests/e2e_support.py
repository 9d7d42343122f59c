"""Harness for the durable-delivery end-to-end tests: gated site and webhook, CLI runs, store peeks.

Run as ``python -m tests.e2e_support ARGS`` it is the `newswatch` CLI with one fault-injection
point: with NEWSWATCH_TEST_PAUSE_URL and NEWSWATCH_TEST_PAUSE_TOPIC set, the process stops just
before storing its first new story on that topic (detection done, nothing saved yet) and waits
for a GET on that URL to return, so a test can line two cycles up at the racy moment.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import yaml

from newswatch.demo import NewsDaySite, SmtpReceiver, WebhookReceiver
from newswatch.demo.receivers import Message
from newswatch.demo.site import Document, Hit
from newswatch.render import KIND_LABEL

ROOT = Path(__file__).resolve().parents[1]
DEMO_CONFIG = ROOT / "config" / "demo.yaml"
STORE = Path("state") / "demo" / "newswatch.db"  # where demo_config_in(cwd) puts it, per directory


def demo_text(folder: Path) -> str:
    """config/demo.yaml with its store in `folder`/state/demo (the file's own is the checkout's)."""
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith("store:"))
    return text.replace(line, f'store: "sqlite:///{folder / STORE}"')


def demo_config_in(cwd: Path) -> Path:
    """A copy of config/demo.yaml in `cwd` that keeps its store there, as tests expect."""
    path = cwd / "demo.yaml"
    if not path.exists():
        path.write_text(demo_text(cwd), encoding="utf-8")
    return path


GATE_TIMEOUT = 60.0  # a gate nobody opens gives way after this, so a broken test cannot hang
CLI_TIMEOUT = 180.0
PAUSE_URL, PAUSE_TOPIC = "NEWSWATCH_TEST_PAUSE_URL", "NEWSWATCH_TEST_PAUSE_TOPIC"
THE_PAST = "2000-01-01 00:00:00.000000"  # stands for "long enough ago" in the store's timestamps


class Gate:
    """Where a server thread stops: `reached` is set when it gets there; `open()` lets it go."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self._open = threading.Event()

    def stop_here(self) -> None:
        self.reached.set()
        self._open.wait(GATE_TIMEOUT)

    def open(self) -> None:
        self._open.set()


class HeldWebhook(WebhookReceiver):
    """The chat webhook, able to record its n-th post and then hold the reply (sender mid-send)."""

    def __init__(self) -> None:
        super().__init__()
        self._hold_at: int | None = None
        self._seen = 0
        self.gate = Gate()

    def hold_at(self, post: int | None) -> Gate:
        """Hold the reply to the `post`-th accepted post from now on (None: hold nothing)."""
        self.gate.open()
        self.gate = Gate()
        with self._cond:
            self._hold_at, self._seen = post, 0
        return self.gate

    def record(self, message: Message) -> None:
        super().record(message)
        with self._cond:
            self._seen += 1
            hold = self._seen == self._hold_at
        if hold:
            self.gate.stop_here()


class GatedSite(NewsDaySite):
    """The news-day site, able to hold requests for one path, or until N user agents have come."""

    def __init__(self) -> None:
        super().__init__()
        self._hold_path: str | None = None
        self._agents_wanted = 0
        self._agents: set[str] = set()
        self._all_agents = threading.Event()
        self.gate = Gate()

    def hold_path(self, fragment: str | None) -> Gate:
        """Hold every request whose path contains `fragment` (None: hold nothing)."""
        self.gate.open()
        self.gate = Gate()
        self._hold_path = fragment
        return self.gate

    def meet(self, agents: int) -> None:
        """Answer no request until `agents` different User-Agents have asked (0: no meeting)."""
        self._all_agents.set()
        self._agents_wanted, self._agents = agents, set()
        self._all_agents = threading.Event()
        if agents == 0:
            self._all_agents.set()

    def reset(self) -> None:
        self.hold_path(None)
        self.meet(0)

    def document(self, path: str, step: int | None = None) -> Document | None:
        if self._hold_path is not None and self._hold_path in path:
            self.gate.stop_here()
        return super().document(path, step)

    def _record(self, hit: Hit) -> None:
        super()._record(hit)
        if self._agents_wanted:
            self._agents.add(hit.user_agent)
            if len(self._agents) >= self._agents_wanted:
                self._all_agents.set()
            self._all_agents.wait(GATE_TIMEOUT)


class Rendezvous:
    """A local URL whose GET returns once `parties` callers are waiting on it (or on timeout)."""

    def __init__(self, parties: int) -> None:
        barrier = threading.Barrier(parties, timeout=GATE_TIMEOUT)
        met: list[int] = []  # one entry per caller released together with the others
        self.met = met

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                try:
                    met.append(barrier.wait())
                    status = 200
                except threading.BrokenBarrierError:
                    status = 504
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.1,))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@dataclass
class World:
    """The site, the two receivers, and how to run the CLI against them in a directory."""

    site: GatedSite
    hook: HeldWebhook
    smtp: SmtpReceiver

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
        env.update(
            NEWSWATCH_DEMO_SITE=self.site.base_url,
            NEWSWATCH_DEMO_HOOK=self.hook.url,
            NEWSWATCH_DEMO_MAIL=self.smtp.apprise_url(to="desk@example.org"),
            **(extra or {}),
        )
        return env

    def reset(self) -> None:
        self.site.reset()
        self.hook.hold_at(None)
        for receiver in (self.hook, self.smtp):
            receiver.refuse(0)
            receiver.refused = 0
            receiver.clear()

    def command(self, args: Sequence[str], config: Path, module: str) -> list[str]:
        return [sys.executable, "-m", module, *args, "-c", str(config)]

    def cli(
        self, cwd: Path, *args: str, config: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            self.command(args, config or demo_config_in(cwd), "newswatch.cli"),
            cwd=cwd,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
        )
        assert done.returncode == 0, f"newswatch {' '.join(args)}:\n{done.stdout}{done.stderr}"
        return done

    def spawn(
        self,
        cwd: Path,
        *args: str,
        config: Path | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start the CLI (through this module, so the fault-injection point is available)."""
        return subprocess.Popen(
            self.command(args, config or demo_config_in(cwd), "tests.e2e_support"),
            cwd=cwd,
            env=self.env(extra_env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def run(self, cwd: Path, step: int, config: Path | None = None) -> str:
        self.site.set_step(step)
        return self.cli(cwd, "run", config=config).stdout

    def chat(self, path: str = "/") -> list[str]:
        return [str(m["title"]) for m in self.hook.messages if m.get("path") == path]

    def mail(self) -> list[str]:
        return [str(m["subject"]) for m in self.smtp.messages]

    def alert_title(self, topic: str, kind: str, item: str) -> str:
        """The title an instant alert on a news-day item carries, e.g. "[talks] New story: …"."""
        day = self.site.newsday
        headline = day.live.title if item == "live" else day.story(item).headline
        return f"[{topic}] {KIND_LABEL[kind]}: {headline}"

    def titles(self, expected: Iterable[tuple[str, str, str]], topics: Iterable[str]) -> set[str]:
        wanted = set(topics)
        return {self.alert_title(*e) for e in expected if e[0] in wanted}


def write_config(path: Path, **changes: Any) -> Path:
    """config/demo.yaml with top-level keys or `defaults` keys replaced, written to `path`.

    `sources` may be a list of source names to keep; `channels` a full list of channel maps.
    """
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    data["store"] = f"sqlite:///{STORE}"  # relative to the file's folder, as before per directory
    for key, value in changes.items():
        if key == "sources":
            data["sources"] = [s for s in data["sources"] if s["name"] in value]
        elif key in data:
            data[key] = value
        else:
            data["defaults"][key] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def demo_channels() -> list[dict[str, Any]]:
    return list(yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))["channels"])


def copy_store(src: Path, dst: Path) -> None:
    """Copy the store under directory `src` to `dst` through SQLite's online backup."""
    (dst / STORE).parent.mkdir(parents=True, exist_ok=True)
    source, target = sqlite3.connect(src / STORE), sqlite3.connect(dst / STORE)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


def query(cwd: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(cwd / STORE, timeout=30)
    try:
        with db:
            return list(db.execute(sql, params))
    finally:
        db.close()


def pass_time(cwd: Path, what: str) -> int:
    """Move every pending outbox row's `claimed_until` or `next_attempt_at` into the past.

    This stands for time passing (a lease running out, a backoff ending), which a test cannot
    wait for. Returns the number of rows moved.
    """
    assert what in ("claimed_until", "next_attempt_at")
    db = sqlite3.connect(cwd / STORE, timeout=30)
    try:
        with db:
            cur = db.execute(
                f"UPDATE outbox SET {what} = ? WHERE status = 'pending' AND {what} IS NOT NULL",
                (THE_PAST,),
            )
            return cur.rowcount
    finally:
        db.close()


def repeated(titles: Iterable[str]) -> list[str]:
    return sorted(t for t, n in Counter(titles).items() if n > 1)


# --- the CLI with a fault-injection point ----------------------------------------------------


def _pause_before_first_new_story(url: str, topic: str) -> None:
    from newswatch.models import SameStory, SavedObservation
    from newswatch.store import Store

    original = Store.save_observation
    paused = threading.Event()

    def save_observation(self: Store, obs: SavedObservation, same_story: SameStory) -> list[int]:
        news = any(s.fingerprint and s.topic == topic for s in obs.stories)
        if news and not paused.is_set():
            paused.set()
            urllib.request.urlopen(url, timeout=GATE_TIMEOUT + 5).read()
        return original(self, obs, same_story)

    Store.save_observation = save_observation  # type: ignore[method-assign]


def main(argv: Sequence[str] | None = None) -> int:
    if os.environ.get(PAUSE_URL):
        _pause_before_first_new_story(os.environ[PAUSE_URL], os.environ[PAUSE_TOPIC])
    from newswatch.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
