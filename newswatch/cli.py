"""The `newswatch` command: parses arguments, loads config, runs a stage, sets the exit status."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import newswatch
from newswatch.config import (
    DEFAULT_CONFIG,
    SecretResolver,
    defer_secrets,
    describe,
    load_config,
)
from newswatch.errors import ConfigError, NewswatchError, UsageError
from newswatch.inert import printable
from newswatch.models import Config
from newswatch.report import RunReport, SourceReport

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class _Lines:
    """Plain lines to stdout (or stderr), never wrapped or marked up; rich (~0.1 s to import)
    is loaded only for a spinner on a terminal."""

    def __init__(self, stderr: bool = False) -> None:
        self.stderr = stderr

    @property
    def file(self) -> Any:
        return sys.stderr if self.stderr else sys.stdout

    def print(self, text: str = "", **_how: Any) -> None:
        print(text, file=self.file, flush=True)

    @property
    def is_terminal(self) -> bool:
        isatty = getattr(self.file, "isatty", None)
        return bool(isatty and isatty())

    @contextmanager
    def status(self, what: str) -> Iterator[None]:
        from rich.console import Console

        with Console(stderr=self.stderr, highlight=False).status(what):
            yield


console = _Lines()
err_console = _Lines(stderr=True)


class _Version(argparse.Action):
    """`--version`, looking the version up only when asked (the lookup costs ~70 ms)."""

    def __call__(self, parser: argparse.ArgumentParser, *_args: Any, **_kw: Any) -> None:
        print(f"newswatch {newswatch.__version__}")  # stdout, as argparse's own action does
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-c", "--config", default=DEFAULT_CONFIG, help=f"config file (default {DEFAULT_CONFIG})"
    )
    common.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    parser = argparse.ArgumentParser(
        prog="newswatch",
        description="Watch news sources and alert on new developments on the topics you track.",
        parents=[common],
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    rn = sub.add_parser("run", parents=[common], help="one monitoring cycle, then exit")
    rn.add_argument(
        "--shard",
        metavar="I/N",
        help="only the sources whose name hashes to shard I of N (1 <= I <= N), e.g. 1/2",
    )
    bf = sub.add_parser("backfill", parents=[common], help="process items published in a window")
    bf.add_argument("--since", required=True, help="ISO date/datetime or age like 7d")
    bf.add_argument("--until", help="ISO date/datetime or age (default: now)")
    bf.add_argument("--source", action="append", dest="sources", metavar="NAME", default=None)
    bf.add_argument("--notify", choices=["digest", "none", "instant"], default="digest")
    dg = sub.add_parser("digest", parents=[common], help="send what digest channels collected")
    dg.add_argument("--channel", metavar="NAME")
    dg.add_argument(
        "--due-only", action="store_true", help="only digests whose schedule time has come"
    )
    sv = sub.add_parser("serve", parents=[common], help="serve the flows on their schedules")
    sv.add_argument("--limit", type=int, default=2, help="flow runs at once (default 2)")
    ck = sub.add_parser("check", parents=[common], help="validate config; --fetch: dry run")
    ck.add_argument("--fetch", action="store_true", help="fetch once, show what would alert")
    st = sub.add_parser(
        "status", parents=[common], help="each source's health; channels waiting for retry"
    )
    st.add_argument("--json", action="store_true", help="machine-readable output")
    dm = sub.add_parser("demo", parents=[common], help="replay a news day on localhost")
    dm.add_argument("--fast", action="store_true", help="no pause between cycles")
    dv = sub.add_parser("developments", parents=[common], help="what was found, newest first")
    dv.add_argument("--since", help="only those detected since (ISO date/datetime or age like 7d)")
    dv.add_argument("--topic", action="append", dest="topics", metavar="NAME", default=[])
    dv.add_argument("--format", choices=["table", "json", "csv"], default="table")
    op = sub.add_parser("import-opml", parents=[common], help="OPML feeds as a sources: block")
    op.add_argument("file", metavar="FILE", help="an OPML subscription list (from a feed reader)")
    return parser


def entry() -> None:
    """The `newswatch` program: `main`, then the exit, without the interpreter's last sweeps.

    At exit CPython garbage-collects every object still alive, though the OS frees them anyway:
    0.3 s after an in-process cycle and 0.7-0.9 s once Prefect is imported (measured). Freezing
    them first skips that; atexit handlers (log flushing, Prefect's workers) still run.
    """
    code = main()
    gc.freeze()
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return COMMANDS[args.command](args)
    except (ConfigError, UsageError) as exc:
        err_console.print(f"newswatch: error: {exc}", markup=False)
        return EXIT_USAGE
    except NewswatchError as exc:
        err_console.print(f"newswatch: {exc}", markup=False)
        return EXIT_FAIL
    except KeyboardInterrupt:
        err_console.print("newswatch: interrupted", markup=False)
        return 130


def _config(args: argparse.Namespace, secrets: SecretResolver | None = None) -> Config:
    return load_config(args.config, secrets=secrets or _prefect_secret)


def _prefect_secret(name: str) -> str:
    """A Prefect Secret block's value, read from the server PREFECT_API_URL names (only there)."""
    if not _prefect_api():
        raise LookupError("set PREFECT_API_URL to the Prefect server that holds it")
    from flows.secrets import prefect_secret

    return prefect_secret(name)


def _prefect_api() -> bool:
    return bool(os.environ.get("PREFECT_API_URL"))


def _print_source(rep: SourceReport) -> None:
    console.print(f"  {printable(rep.line(), 2000)}", markup=False)
    for err in rep.item_errors[:5]:
        console.print(f"    ! {printable(err, 2000)}", markup=False)
    for d in rep.developments:
        console.print(
            f"    + [{d.topic}] {d.kind}: {_shown(d.title)} <{_shown(d.url)}>", markup=False
        )


def _shown(text: str) -> str:
    """Page text as the terminal may show it: no controls, bidi overrides or zero-width marks."""
    return printable(text, 300)


def _as_flow_run(flow: Callable[..., Any], **parameters: Any) -> int:
    """Run `flow` as a flow run of the configured Prefect API, here, and print its report."""
    from flows.lean import command_flow_run

    with command_flow_run():
        state = flow(**parameters, return_state=True)
    return _print_report(_flow_report(state))


def _flow_report(state: Any) -> RunReport | None:
    """The report a flow run ended with (Failed ones carry it too); an exception the flow raised
    is raised again here, so it exits 1 or 2 as it would in-process."""
    value = state.result(raise_on_failure=False)
    if isinstance(value, BaseException):
        raise value
    return value if isinstance(value, RunReport) else None


def _print_report(report: RunReport | None) -> int:
    """Print a run's deliveries and summary; the exit status its verdict calls for.

    The store failing, or every source failing, exits 1 (the flow run is Failed); some sources
    or channels failing is reported and exits 0.
    """
    if report is None:  # a flow run that only said why it did nothing (e.g. a stale run)
        return EXIT_OK
    for c in report.deliveries:
        if c.sent or c.failed or c.error:
            waiting = f"; {c.failed} refused, waiting: {c.error}" if c.error else ""
            state = f"sent {len(c.messages)} message(s){waiting}"
            console.print(f"  channel {c.channel} ({c.mode}): {state}", markup=False)
    for note in report.health:
        console.print(f"  {note}", markup=False)
    console.print(report.summary(), markup=False)
    if report.feeds_error:  # the run itself completed: said loudly, but not a failed run
        err_console.print(f"newswatch: warning: {report.feeds_error}", markup=False)
    verdict = report.verdict()
    if verdict.level == "failed":
        err_console.print(f"newswatch: {verdict.message}", markup=False)
        return EXIT_FAIL
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from newswatch.shards import parse_shard

    config = _config(args)
    shard = parse_shard(args.shard)  # a bad form is a usage error before anything starts
    if _prefect_api():
        from flows.monitor import monitor

        return _as_flow_run(monitor, config=args.config, shard=args.shard)
    from newswatch.pipeline import Runtime, Steps, run_cycle

    with Runtime.open(config) as rt, _progress("monitoring"):
        return _print_report(run_cycle(rt, steps=Steps(on_source=_print_source), shard=shard))


def cmd_backfill(args: argparse.Namespace) -> int:
    from newswatch.pipeline import Runtime, Steps, plan_backfill, run_backfill

    config = _config(args)
    plan = plan_backfill(config, args.since, args.until, args.sources, args.notify)
    if _prefect_api():
        from flows.backfill import backfill

        return _as_flow_run(
            backfill,
            config=args.config,
            since=plan.since.isoformat(),  # relative ages counted from the command's time
            until=plan.until.isoformat(),
            sources=args.sources,
            notify=plan.notify,
        )
    with Runtime.open(config) as rt, _progress("backfilling"):
        return _print_report(run_backfill(rt, plan, Steps(on_source=_print_source)))


def cmd_digest(args: argparse.Namespace) -> int:
    config = _config(args)
    if _prefect_api():
        from flows.digest import digest

        return _as_flow_run(
            digest, config=args.config, channel=args.channel, due_only=args.due_only
        )
    from newswatch.pipeline import Runtime, run_digest

    with Runtime.open(config) as rt:
        return _print_report(run_digest(rt, args.channel, args.due_only))


def cmd_check(args: argparse.Namespace) -> int:
    config = _config(args)
    console.print(describe(config), markup=False)
    if not args.fetch:
        return EXIT_OK
    from newswatch.pipeline import Runtime, run_check

    console.print("\nFetching each source once (nothing is sent, nothing is stored):", markup=False)
    with (
        tempfile.TemporaryDirectory(prefix="newswatch-check-") as scratch,
        Runtime.open(
            config, store_url=_readonly_store(config.store, scratch), shared_pacing=False
        ) as rt,
    ):
        report = run_check(rt, on_source=_print_check)
    console.print(report.summary().replace("message(s) sent", "message(s) would be sent"))
    return EXIT_OK


def _readonly_store(url: str, scratch: str) -> str:
    """The configured store when it exists; otherwise an empty one in a scratch directory.

    Either way the check writes nothing to it: it only reads what is known.
    """
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    is_file = parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "")
    if is_file and (parsed.database == ":memory:" or not os.path.exists(str(parsed.database))):
        return f"sqlite:///{scratch}/check.db"
    return url


def _print_check(rep: SourceReport) -> None:
    line = printable(rep.line(), 2000).replace("; baseline recorded, no alerts", "")
    if rep.baseline:
        line += "; first cycle would be its baseline: matches below are recorded, not sent"
    console.print(f"  {line}", markup=False)
    verb = "matches" if rep.baseline else "would alert"
    for d in rep.developments:
        r = d.reason
        console.print(
            f"    {verb} [{d.topic}] {d.kind}: {_shown(d.title)} <{_shown(d.url)}>\n"
            f"      why: terms {', '.join(d.terms)}; nearest known story: "
            f"{r.get('nearest') or 'none'} (similarity {r.get('similarity') or 0}); "
            f"sources: {', '.join(d.outlets)}",
            markup=False,
        )


def cmd_status(args: argparse.Namespace) -> int:
    from newswatch.pipeline import Runtime
    from newswatch.status import status_lines, status_table

    config = _config(args)
    with Runtime.open(config) as rt:
        table = status_table(config, rt.store)
    if args.json:
        import json

        console.print(json.dumps(table, indent=2), markup=False, soft_wrap=True)
    else:
        for line in status_lines(table):
            console.print(line, markup=False)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    _config(args, None if _prefect_api() else defer_secrets)  # each flow run reads its secrets
    from flows.serve import serve

    serve(config=args.config, limit=args.limit)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from rich.console import Console

    from newswatch.demo.run import run_demo

    return run_demo(
        args.config if args.config != DEFAULT_CONFIG else demo_config(),
        fast=args.fast,
        console=Console(highlight=False, soft_wrap=True),
    )


def demo_config() -> str:
    """config/demo.yaml here, else of this checkout, else the copy the installed wheel carries."""
    here = os.path.dirname(__file__)
    for path in (
        os.path.join("config", "demo.yaml"),
        os.path.join(os.path.dirname(here), "config", "demo.yaml"),
    ):
        if os.path.exists(path):
            return path
    return os.path.join(here, "bundled", "config", "demo.yaml")


@contextmanager
def _progress(what: str) -> Iterator[None]:
    """A spinner on a terminal; nothing otherwise (plain lines are printed as sources finish)."""
    if not console.is_terminal:
        yield
        return
    with console.status(what + "…"):
        yield


def cmd_developments(args: argparse.Namespace) -> int:
    from newswatch.export import render
    from newswatch.store import Store
    from newswatch.timespec import parse_when

    config = _config(args, defer_secrets)  # channels are not needed to read the store
    since = parse_when(args.since) if args.since else None
    for name in args.topics:
        if name not in {t.name for t in config.topics}:
            raise UsageError(f"--topic {name}: no such topic in {args.config}")
    store = Store.open(config.store)
    try:
        devs = store.recent_developments(since, args.topics)
    finally:
        store.close()
    sys.stdout.write(render(devs, args.format))
    return EXIT_OK


def cmd_import_opml(args: argparse.Namespace) -> int:
    from newswatch.errors import ParseError
    from newswatch.opml_import import read_subscriptions, sources_yaml

    try:
        subs, skipped = read_subscriptions(args.file)
    except ParseError as exc:
        raise UsageError(str(exc)) from None
    for note in skipped:
        err_console.print(f"newswatch: skipped {note}", markup=False)
    sys.stdout.write(sources_yaml(subs))
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": cmd_run,
    "backfill": cmd_backfill,
    "digest": cmd_digest,
    "serve": cmd_serve,
    "check": cmd_check,
    "status": cmd_status,
    "demo": cmd_demo,
    "developments": cmd_developments,
    "import-opml": cmd_import_opml,
}

if __name__ == "__main__":
    entry()
