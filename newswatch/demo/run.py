"""`newswatch demo`: replays the bundled news day on localhost, showing every alert it gets."""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from newswatch.config import load_config
from newswatch.demo.receivers import SmtpReceiver, WebhookReceiver
from newswatch.demo.site import NewsDaySite
from newswatch.report import RunReport, SourceReport

PAUSE = 1.5  # seconds between cycles, so a person can follow
DEMO_STORE = "sqlite:///state/demo/newswatch.db"  # relative to the working directory


def run_demo(config_path: str, *, fast: bool = False, console: Console | None = None) -> int:
    """Serve the news day, run one monitor cycle per step, print alerts and a summary."""
    from newswatch.pipeline import Runtime, Steps, run_cycle, run_digest

    out = console or Console(highlight=False)
    with (
        NewsDaySite() as site,
        WebhookReceiver(on_message=lambda m: _show_chat(out, m)) as hook,
        SmtpReceiver(on_message=lambda m: _show_mail(out, m)) as smtp,
    ):
        env = {
            "NEWSWATCH_DEMO_SITE": site.base_url,
            "NEWSWATCH_DEMO_HOOK": hook.url,
            "NEWSWATCH_DEMO_MAIL": smtp.apprise_url(to="editor@newsdesk.example"),
        }
        # The demo's store is always state/demo/ of the working directory (started afresh), also
        # when the config comes from an installed wheel, whose folder is no place for a store.
        config = replace(load_config(config_path, env={**os.environ, **env}), store=DEMO_STORE)
        _fresh_store(config.store)
        out.print(
            f"[bold]newswatch demo[/]: a news day (28 Feb 2022, replayed on today's clock) "
            f"served at {site.base_url}\nalerts go to a local chat webhook ({hook.url}) and a "
            f"local mail server; config {config_path}, store {config.store}\n"
        )
        reports: list[RunReport] = []
        with Runtime.open(config) as rt:
            for step in range(site.steps):
                site.set_step(step)
                out.rule(f"cycle {step + 1} of {site.steps}")
                out.print(Text(site.describe_step(step), style="dim"))
                reports.append(run_cycle(rt, steps=Steps(on_source=lambda r: _show_source(out, r))))
                if not fast and step + 1 < site.steps:
                    time.sleep(PAUSE)
            digest = run_digest(rt)
        _summary(out, reports, digest, len(hook.messages), len(smtp.messages))
    return 0


def _fresh_store(url: str) -> None:
    """The demo starts from nothing each time, so its first cycle is always the baseline."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and "demo" in url:
        path = Path(url[len(prefix) :])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.rmtree(path.parent / "prefect", ignore_errors=True)


def _show_source(out: Console, rep: SourceReport) -> None:
    out.print(f"  {rep.line()}", markup=False, style="red" if not rep.ok else "dim")


def _show_chat(out: Console, msg: dict[str, Any]) -> None:
    body = Text(str(msg.get("body") or msg.get("message") or ""))  # Text: never rich markup
    out.print(Panel(body, title=Text(f"chat: {msg.get('title', '')}"), border_style="cyan"))


def _show_mail(out: Console, msg: dict[str, Any]) -> None:
    text = str(msg.get("text") or "").strip()
    head = f"To: {', '.join(msg.get('to') or [])}\nSubject: {msg.get('subject', '')}"
    out.print(Panel(Text(f"{head}\n\n{text}"), title="email", border_style="magenta"))


def _summary(
    out: Console, reports: list[RunReport], digest: RunReport, chats: int, mails: int
) -> None:
    out.rule("summary")
    table = Table("cycle", "developments", "sent", "failed sources")
    for i, rep in enumerate(reports, 1):
        kinds = Counter(f"{d.topic}/{d.kind}" for d in rep.developments)
        table.add_row(
            str(i),
            ", ".join(f"{k} ×{n}" for k, n in kinds.items()) or "-",
            str(rep.messages_sent),
            ", ".join(s.source for s in rep.failed_sources) or "-",
        )
    out.print(table)
    digests = sum(c.sent and 1 or 0 for c in digest.deliveries)
    out.print(
        f"{chats} chat message(s) and {mails} email(s) received by the local servers"
        + (f"; {digests} digest(s) sent at the end" if digests else "")
        + ".\nThe first cycle is the baseline: it records what already exists and sends nothing."
    )
