"""Loads the YAML config once into frozen, validated objects; every error names the file and key.

Strings may refer to the environment: ``${VAR}`` is replaced by the variable's value and is an
error when the variable is unset or empty; ``${VAR:-fallback}`` uses ``fallback`` (which cannot
contain ``}``) in that case; ``$${`` is a literal ``${``. ``${prefect:secret/NAME}`` is the value
of the Prefect Secret block NAME, looked up by the resolver the caller hands in (the CLI and the
flows; the core never imports prefect). Expanded values are never echoed in error messages.
Digests are ``hourly``, ``daily HH:MM`` (24-hour clock, UTC) or a 5-field cron expression (UTC).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar
from urllib.parse import urlsplit

import yaml
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from newswatch.errors import ConfigError, DurationError
from newswatch.matching import check_term
from newswatch.models import SOURCE_KINDS, Channel, Config, FetchSettings, Source, Topic
from newswatch.redact import describe, format_duration, mask_url  # CLI, flows, tests import here
from newswatch.timespec import digest_cron, parse_digest, parse_duration

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_STORE",
    "DEFERRED_SECRET",
    "DurationError",
    "SecretResolver",
    "defer_secrets",
    "describe",
    "digest_cron",
    "format_duration",
    "load_config",
    "mask_url",
    "parse_digest",
    "parse_duration",
]

_T = TypeVar("_T")
DEFAULT_STORE = "sqlite:///state/newswatch.db"
DEFAULT_CONFIG = "config/newswatch.yaml"  # what every command and flow reads unless told
MAX_CONFIG_BYTES = 2_000_000
# YAML aliases can make a tiny file expand to billions of values; a real config has hundreds.
MAX_VALUES = 200_000
# PyYAML's scanner is quadratic in the depth of [ ] and { } nesting: 1,500 levels take seconds.
MAX_FLOW_DEPTH = 64

_SETTING_KEYS = (
    "interval",
    "timeout",
    "per_host_delay",
    "max_age",
    "watch_for",
    "budget",
    "silent_after",
)
_MUST_BE_POSITIVE = frozenset({"interval", "timeout", "max_age", "budget"})
_DEFAULT_KEYS = frozenset({*_SETTING_KEYS, "max_bytes", "user_agent", "alarm_after"})
STORE_BACKENDS = ("sqlite", "postgresql")
_TOP_KEYS = frozenset({"store", "defaults", "sources", "topics", "channels", "feeds_dir"})
_SOURCE_KEYS = frozenset({"name", *SOURCE_KINDS, "links", *_DEFAULT_KEYS})
_TOPIC_KEYS = frozenset({"name", "any", "all", "none", "measures"})
_CHANNEL_KEYS = frozenset({"name", "url", "topics", "digest", "health"})

_VAR = re.compile(
    r"\$\$\{|\$\{prefect:secret/(?P<secret>[^}]*)\}"
    r"|\$\{(?:(?P<name>[A-Za-z_]\w*)(?::-(?P<fallback>[^}]*))?\})?"
)
# Looks up a Prefect Secret block by name; raises LookupError saying why it cannot.
SecretResolver = Callable[[str], str]
DEFERRED_SECRET = "prefect-secret://deferred"
_APPRISE_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")
_FLOW_BRACKET = re.compile(r"[\[\]{}]")


# --- reading and ${VAR} expansion -------------------------------------------------------------


@dataclass(slots=True)
class _Ctx:
    path: str
    env: Mapping[str, str]
    expanded: set[str] = field(default_factory=set)  # keys whose value came from ${VAR}
    values: int = 0
    secrets: SecretResolver | None = None

    def error(self, key: str | None, problem: str) -> ConfigError:
        return ConfigError(problem, path=self.path, key=key)

    def show(self, key: str, value: object) -> str:
        return "(value hidden: it comes from ${...})" if key in self.expanded else repr(value)


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping, which YAML would silently drop."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node.value, str):
                continue
            if key_node.value in seen:
                mark = key_node.start_mark
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key_node.value!r}", mark
                )
            seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def _flow_depth(text: str) -> int:
    """How deep [ and { nest (up to the limit), ignoring quoting: enough to spare PyYAML."""
    if text.count("[") + text.count("{") <= MAX_FLOW_DEPTH:
        return 0
    depth = 0
    for m in _FLOW_BRACKET.finditer(text):
        depth = depth + 1 if m.group() in "[{" else max(0, depth - 1)
        if depth > MAX_FLOW_DEPTH:
            break
    return depth


def _read_yaml(ctx: _Ctx) -> object:
    try:
        with open(ctx.path, "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ctx.error(None, f"cannot read the config file: {exc.strerror or exc}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ctx.error(None, f"the file is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ctx.error(None, f"not UTF-8 text (byte {exc.start})") from None
    if _flow_depth(text) > MAX_FLOW_DEPTH:
        raise ctx.error(None, f"[ ] or {{ }} nested deeper than {MAX_FLOW_DEPTH} levels")
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ctx.error(None, f"YAML syntax error at {where}{exc.problem or exc}") from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise ctx.error(None, f"YAML error: {type(exc).__name__}") from None


def _expand_string(text: str, key: str, ctx: _Ctx) -> str:
    if "${" not in text:
        return text

    def substitute(m: re.Match[str]) -> str:
        if m.group(0) == "$${":
            return "${"
        if m.group("secret") is not None:
            ctx.expanded.add(key)
            return _secret(m.group("secret"), key, ctx)
        name = m.group("name")
        if name is None:
            raise ctx.error(key, "malformed ${...}: write ${NAME}, ${NAME:-fallback} or $${")
        ctx.expanded.add(key)
        value = ctx.env.get(name)
        if value:
            return value
        if m.group("fallback") is not None:
            return m.group("fallback")
        raise ctx.error(key, f"environment variable {name} is not set (or is empty)")

    return _VAR.sub(substitute, text)


def _secret(name: str, key: str, ctx: _Ctx) -> str:
    if ctx.secrets is None:
        raise ctx.error(key, f"Prefect Secret block {name!r}: not available to this command")
    try:
        return ctx.secrets(name)
    except LookupError as exc:
        raise ctx.error(
            key, f"Prefect Secret block {name!r}: {exc.args[0] if exc.args else exc}"
        ) from None


def defer_secrets(_name: str) -> str:
    """A resolver for a config read only for its sources: secrets are left to each flow run."""
    return DEFERRED_SECRET


def _expand(node: object, key: str, ctx: _Ctx) -> object:
    ctx.values += 1
    if ctx.values > MAX_VALUES:
        raise ctx.error(None, f"more than {MAX_VALUES} values (YAML aliases expanding?)")
    if isinstance(node, str):
        return _expand_string(node, key, ctx)
    if isinstance(node, list):
        return [_expand(v, f"{key}[{i}]", ctx) for i, v in enumerate(node)]
    if isinstance(node, dict):
        return {k: _expand(v, f"{key}.{k}" if key else str(k), ctx) for k, v in node.items()}
    return node


# --- shapes and types -------------------------------------------------------------------------


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean (YAML reads yes/no/on/off/true/false as booleans: quote it)"
    names = {dict: "a mapping", list: "a list", str: "a string", int: "a number", float: "a number"}
    return "empty" if value is None else names.get(type(value), type(value).__name__)


def _mapping(value: object, key: str, ctx: _Ctx, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ctx.error(key or None, f"must be a mapping of keys to values, not {_kind(value)}")
    for name in value:
        where = f"{key}.{name}" if key else str(name)
        if not isinstance(name, str):
            raise ctx.error(where, f"keys must be words, not {_kind(name)}")
        if name not in allowed:
            close = difflib.get_close_matches(name, sorted(allowed), n=1, cutoff=0.6)
            hint = (
                f"did you mean {close[0]!r}?" if close else f"known: {', '.join(sorted(allowed))}"
            )
            raise ctx.error(where, f"unknown key {name!r} ({hint})")
    return value


def _string(value: object, key: str, ctx: _Ctx) -> str:
    if not isinstance(value, str):
        raise ctx.error(key, f"must be a string, not {_kind(value)}")
    if not value.strip():
        raise ctx.error(key, "must not be empty")
    if any(ch in value for ch in "\r\n\x00"):
        raise ctx.error(key, "must be on one line")
    return value.strip()


def _list(value: object, key: str, ctx: _Ctx, *, required: bool) -> list[Any]:
    if value is None:
        if required:
            raise ctx.error(key, "missing: must list at least one entry")
        return []
    if not isinstance(value, list):
        raise ctx.error(key, f"must be a list, not {_kind(value)}")
    if required and not value:
        raise ctx.error(key, "must list at least one entry")
    return value


def _name(m: dict[str, Any], key: str, seen: set[str], ctx: _Ctx) -> str:
    if m.get("name") is None:
        raise ctx.error(f"{key}.name", "missing: every entry needs a name")
    name = _string(m["name"], f"{key}.name", ctx)
    if name in seen:
        raise ctx.error(f"{key}.name", f"duplicate name {name!r}")
    seen.add(name)
    return name


def _duration(value: object, key: str, ctx: _Ctx, *, positive: bool) -> float:
    try:
        seconds = parse_duration(value)
    except ValueError:
        shown = ctx.show(key, value)
        raise ctx.error(key, f"bad duration {shown}: use 30s, 10m, 24h, 3d or seconds") from None
    if positive and seconds == 0:
        raise ctx.error(key, "must be more than zero")
    return seconds


def _settings(m: dict[str, Any], base: FetchSettings, key: str, ctx: _Ctx) -> FetchSettings:
    changes: dict[str, Any] = {}
    for name in _SETTING_KEYS:
        if name in m:
            where = f"{key}.{name}"
            changes[name] = _duration(m[name], where, ctx, positive=name in _MUST_BE_POSITIVE)
    if "max_bytes" in m:
        size = m["max_bytes"]
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            shown = ctx.show(f"{key}.max_bytes", size)
            raise ctx.error(f"{key}.max_bytes", f"must be a positive number of bytes, not {shown}")
        changes["max_bytes"] = size
    if "alarm_after" in m:
        count = m["alarm_after"]
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            shown = ctx.show(f"{key}.alarm_after", count)
            raise ctx.error(
                f"{key}.alarm_after", f"must be a number of cycles (0: never), not {shown}"
            )
        changes["alarm_after"] = count
    if "user_agent" in m:
        changes["user_agent"] = _string(m["user_agent"], f"{key}.user_agent", ctx)
    return replace(base, **changes)


# --- sections ---------------------------------------------------------------------------------


def _http_url(value: object, key: str, ctx: _Ctx) -> str:
    url = _string(value, key, ctx)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        raise ctx.error(key, f"not a valid URL: {ctx.show(key, url)}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ctx.error(key, f"must be an http(s) URL, not {ctx.show(key, url)}")
    if not parts.hostname or any(ch.isspace() for ch in url):
        raise ctx.error(key, f"not a valid URL (no host, or spaces): {ctx.show(key, url)}")
    return url


def _source(item: object, key: str, defaults: FetchSettings, seen: set[str], ctx: _Ctx) -> Source:
    m = _mapping(item, key, ctx, _SOURCE_KEYS)
    name = _name(m, key, seen, ctx)
    kinds = [k for k in SOURCE_KINDS if k in m]
    if len(kinds) != 1:
        where = f"{key}.{kinds[1]}" if kinds else key
        found = " and ".join(kinds) if kinds else "none"
        raise ctx.error(where, f"needs exactly one of feed, page, sitemap, listing (has {found})")
    kind = kinds[0]
    url = _http_url(m[kind], f"{key}.{kind}", ctx)
    links = None
    if m.get("links") is not None:
        if kind != "listing":
            raise ctx.error(f"{key}.links", f"links applies to listing sources only, not {kind}")
        links = _string(m["links"], f"{key}.links", ctx)
        import soupsieve  # ~150 ms to import: only for a config that has a selector to check

        try:
            soupsieve.compile(links)
        except (soupsieve.SelectorSyntaxError, ValueError, TypeError) as exc:
            problem = str(exc).splitlines()[0]
            raise ctx.error(f"{key}.links", f"invalid CSS selector: {problem}") from None
    return Source(name, kind, url, _settings(m, defaults, key, ctx), links)


def _terms(value: object, key: str, ctx: _Ctx, *, required: bool, topic: str) -> tuple[str, ...]:
    terms = []
    for i, term in enumerate(_list(value, key, ctx, required=required)):
        text = _string(term, f"{key}[{i}]", ctx)
        try:
            check_term(text)
        except ValueError as exc:
            raise ctx.error(f"{key}[{i}]", f"topic '{topic}', term {text}: {exc}") from None
        terms.append(text)
    return tuple(terms)


def _measures(value: object, key: str, ctx: _Ctx) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise ctx.error(key, f"must map measure names to lists of cue words, not {_kind(value)}")
    measures = []
    for name, cues in value.items():
        where = f"{key}.{name}"
        if not isinstance(name, str) or not name.strip():
            raise ctx.error(where, "a measure name must be a word")
        words = tuple(
            _string(c, f"{where}[{i}]", ctx)
            for i, c in enumerate(_list(cues, where, ctx, required=True))
        )
        measures.append((name.strip(), words))
    return tuple(measures)


def _topic(item: object, key: str, seen: set[str], ctx: _Ctx) -> Topic:
    m = _mapping(item, key, ctx, _TOPIC_KEYS)
    name = _name(m, key, seen, ctx)
    if m.get("any") is None:
        raise ctx.error(f"{key}.any", "missing: a topic needs `any` terms (one must occur)")
    return Topic(
        name=name,
        any=_terms(m["any"], f"{key}.any", ctx, required=True, topic=name),
        all=_terms(m.get("all"), f"{key}.all", ctx, required=False, topic=name),
        none=_terms(m.get("none"), f"{key}.none", ctx, required=False, topic=name),
        measures=_measures(m.get("measures"), f"{key}.measures", ctx),
    )


def _channel(item: object, key: str, topics: list[str], seen: set[str], ctx: _Ctx) -> Channel:
    m = _mapping(item, key, ctx, _CHANNEL_KEYS)
    name = _name(m, key, seen, ctx)
    if m.get("url") is None:
        raise ctx.error(f"{key}.url", "missing: an apprise URL such as mailtos://… or slack://…")
    url = _string(m["url"], f"{key}.url", ctx)
    if not _APPRISE_URL.fullmatch(url):
        raise ctx.error(f"{key}.url", f"not an apprise URL (scheme://…): {mask_url(url)}")
    health = m.get("health", False)
    if not isinstance(health, bool):
        raise ctx.error(f"{key}.health", f"must be true or false, not {_kind(health)}")
    wanted: dict[str, None] = {}
    listed = _list(m.get("topics"), f"{key}.topics", ctx, required=not health)
    for i, topic in enumerate(listed):
        where = f"{key}.topics[{i}]"
        topic = _string(topic, where, ctx)
        if topic not in topics:
            close = difflib.get_close_matches(topic, topics, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"topics: {', '.join(topics)}"
            raise ctx.error(where, f"unknown topic {topic!r} ({hint})")
        wanted[topic] = None
    digest = None
    if m.get("digest") is not None:
        try:
            digest = parse_digest(_string(m["digest"], f"{key}.digest", ctx))
        except ValueError as exc:
            raise ctx.error(f"{key}.digest", str(exc)) from None
    return Channel(name=name, url=url, topics=tuple(wanted), digest=digest, health=health)


def _store(value: object, ctx: _Ctx) -> str:
    """The store URL; a relative SQLite path is made absolute against the config file's folder."""
    store = DEFAULT_STORE if value is None else _string(value, "store", ctx)
    # The URL may hold a database password, so the message names only the backend.
    backend = store.partition(":")[0]
    try:
        url = make_url(store)
        url.get_dialect()
    except NoSuchModuleError:
        raise ctx.error("store", f"unknown database backend {backend!r} in the URL") from None
    except (ArgumentError, ValueError):
        hint = f"not a SQLAlchemy URL such as {DEFAULT_STORE} or postgresql+psycopg://…"
        raise ctx.error("store", hint) from None
    if url.get_backend_name() not in STORE_BACKENDS:
        raise ctx.error(
            "store",
            f"unsupported database backend {backend!r}: newswatch stores in sqlite:///PATH or "
            "postgresql+psycopg://…",
        )
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = str(url.database)
        if not path.startswith("file:") and not os.path.isabs(path):
            folder = os.path.dirname(os.path.abspath(ctx.path))
            absolute = os.path.normpath(os.path.join(folder, path))
            return url.set(database=absolute).render_as_string(hide_password=False)
    return store


def _folder(value: object, key: str, ctx: _Ctx) -> str | None:
    """An optional folder; a relative one is taken relative to the config file's folder."""
    if value is None:
        return None
    folder = os.path.expanduser(_string(value, key, ctx))
    return os.path.join(os.path.dirname(os.path.abspath(ctx.path)), folder)


def _entries(
    data: dict[str, Any], section: str, ctx: _Ctx, build: Callable[[object, str, set[str]], _T]
) -> tuple[_T, ...]:
    """Build each entry of a list section; `seen` collects names to refuse duplicates."""
    seen: set[str] = set()
    items = _list(data.get(section), section, ctx, required=section != "channels")
    return tuple(build(item, f"{section}[{i}]", seen) for i, item in enumerate(items))


def load_config(
    path: str | os.PathLike[str],
    env: Mapping[str, str] | None = None,
    secrets: SecretResolver | None = None,
) -> Config:
    """Read, expand and validate the config at `path`; raises ConfigError naming file and key.

    `env` supplies ``${VAR}`` values and defaults to ``os.environ``; `secrets` looks up
    ``${prefect:secret/NAME}`` (without it, that syntax is a config error).
    """
    ctx = _Ctx(os.fspath(path), os.environ if env is None else env, secrets=secrets)
    raw = _read_yaml(ctx)
    if raw is None:
        raise ctx.error(None, "the file is empty: it needs at least sources and topics")
    if not isinstance(raw, dict):
        raise ctx.error(
            None, f"the top level must be a mapping (store, sources, ...), not {_kind(raw)}"
        )
    data = _mapping(_expand(raw, "", ctx), "", ctx, _TOP_KEYS)
    raw_defaults = {} if data.get("defaults") is None else data["defaults"]
    defaults_map = _mapping(raw_defaults, "defaults", ctx, _DEFAULT_KEYS)
    defaults = _settings(defaults_map, FetchSettings(), "defaults", ctx)
    sources = _entries(data, "sources", ctx, lambda m, k, seen: _source(m, k, defaults, seen, ctx))
    topics = _entries(data, "topics", ctx, lambda m, k, seen: _topic(m, k, seen, ctx))
    names = [t.name for t in topics]
    channels = _entries(data, "channels", ctx, lambda m, k, seen: _channel(m, k, names, seen, ctx))
    store = _store(data.get("store"), ctx)
    feeds_dir = _folder(data.get("feeds_dir"), "feeds_dir", ctx)
    return Config(ctx.path, store, defaults, sources, topics, channels, feeds_dir)
