"""The config loader: bad configs raise ConfigError naming file, key and problem; good ones load."""

from __future__ import annotations

from pathlib import Path

import pytest

from newswatch.config import (
    DEFAULT_STORE,
    DurationError,
    describe,
    digest_cron,
    format_duration,
    load_config,
    mask_url,
    parse_digest,
    parse_duration,
)
from newswatch.errors import ConfigError
from newswatch.models import FetchSettings

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "example.yaml"
SECRETS = {
    "SLACK_TOKEN": "T0KENa1/B0KENb2/s3cretSlackTok",
    "SMTP_USER": "deskbot",
    "SMTP_PASS": "hunter2pw",
}

SOURCES = "sources:\n  - name: a\n    feed: https://example.org/a.xml\n"
TOPICS = "topics:\n  - name: talks\n    any: [talks]\n"
GOOD = SOURCES + TOPICS


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "newswatch.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def lines(indent: str, items: tuple[str, ...]) -> str:
    return "".join(f"{indent}{item}\n" for item in items)


def src(*items: str) -> str:
    """A config whose only source, named a, has these lines."""
    return "sources:\n  - name: a\n" + lines("    ", items) + TOPICS


def top(*items: str) -> str:
    """A config whose only topic, named talks, has these lines."""
    return SOURCES + "topics:\n  - name: talks\n" + lines("    ", items)


def chan(*items: str, url: str = "url: json://hooks.example.org/x") -> str:
    """A config whose only channel, named chat, has these lines."""
    return GOOD + "channels:\n  - name: chat\n" + lines("    ", (url, *items) if url else items)


def dflt(*items: str) -> str:
    return GOOD + "defaults:\n" + lines("  ", items)


FEED = "feed: https://example.org/"
TO_TALKS = "topics: [talks]"
DUP_SOURCE = SOURCES + "  - name: a\n    page: https://example.org/p\n" + TOPICS
DUP_TOPIC = SOURCES + TOPICS + "  - name: talks\n    any: [y]\n"
DUP_CHANNEL = (
    chan(TO_TALKS) + "  - name: chat\n    url: json://x.example.org/\n    topics: [talks]\n"
)

# (key the error must name, None for the whole file; words the message must contain; config)
ERRORS = [
    (None, "empty", ""),
    (None, "line 3, column", "sources:\n  - name: a\n   feed: [x\n"),
    (None, "top level must be a mapping", "- a\n- b\n"),
    (None, "top level must be a mapping", "hello\n"),
    (None, "duplicate key 'store'", "store: sqlite:///a.db\nstore: sqlite:///b.db\n" + GOOD),
    ("sorces", "did you mean 'sources'", GOOD + "sorces: []\n"),
    ("defaults.intervall", "did you mean 'interval'", dflt("intervall: 5m")),
    ("defaults", "must be a mapping", GOOD + "defaults: []\n"),
    ("sources[0].lnks", "did you mean 'links'", src(FEED, "lnks: a")),
    ("topics[0].nonee", "did you mean 'none'", top("any: [x]", "nonee: [y]")),
    ("channels[0].topic", "did you mean 'topics'", chan("topic: [talks]")),
    ("sources", "missing", TOPICS),
    ("sources", "at least one", "sources: []\n" + TOPICS),
    ("sources", "must be a list", "sources: {a: 1}\n" + TOPICS),
    ("sources[0]", "must be a mapping", "sources:\n  - https://example.org/\n" + TOPICS),
    ("sources[0].name", "missing", "sources:\n  - feed: https://example.org/\n" + TOPICS),
    ("sources[0].name", "must be a string", src(FEED).replace("name: a", "name: 5")),
    ("sources[0]", "exactly one of feed, page, sitemap, listing", src("interval: 5m")),
    ("sources[0].page", "has feed and page", src(FEED, "page: https://example.org/p")),
    ("sources[0].links", "listing sources only", src(FEED, "links: a")),
    ("sources[0].links", "invalid CSS selector", src("listing: https://e.org/", "links: 'h2 >'")),
    ("sources[0].feed", "http(s)", src("feed: ftp://example.org/feed.xml")),
    ("sources[0].sitemap", "no host", src("sitemap: 'https:///sitemap.xml'")),
    ("sources[0].page", "not a valid URL", src("page: 'https://example.org:99999/'")),
    ("sources[1].name", "duplicate name 'a'", DUP_SOURCE),
    ("defaults.interval", "bad duration", dflt("interval: 10 minutes")),
    ("sources[0].timeout", "bad duration", src(FEED, "timeout: -5")),
    ("defaults.interval", "more than zero", dflt("interval: 0")),
    ("defaults.max_age", "bad duration", dflt("max_age: yes")),
    ("defaults.max_bytes", "positive number of bytes", dflt("max_bytes: lots")),
    ("defaults.user_agent", "one line", dflt('user_agent: "a\\nb"')),
    ("topics", "missing", SOURCES),
    ("topics", "at least one", SOURCES + "topics: []\n"),
    ("topics[0].any", "needs `any` terms", top("all: [Ukrain*]")),
    ("topics[0].any", "at least one", top("any: []")),
    ("topics[0].any", "must be a list", top("any: talks")),
    ("topics[1].name", "duplicate name 'talks'", DUP_TOPIC),
    ("topics[0].any[1]", "invalid regular expression", top("any: [talks, '/export (ban/']")),
    ("topics[0].any[0]", "empty regular expression", top("any: ['//']")),
    ("topics[0].any[0]", "matches empty text", top("any: ['/x*/']")),
    ("topics[0].any[1]", "topic 'talks', term /(a)\\1/: ", top("any: [talks, '/(a)\\1/']")),
    ("topics[0].all[0]", "term /Ukrain(?=e)/: ", top("any: [talks]", "all: ['/Ukrain(?=e)/']")),
    ("topics[0].any[1]", "only allowed at the end", top("any: [talks, 'neg*tiate']")),
    ("topics[0].none[0]", "only allowed at the end", top("any: [talks]", "none: ['*']")),
    ("topics[0].none[0]", "boolean", top("any: [talks]", "none: [no]")),
    ("topics[0].any[1]", "must not be empty", top("any: [talks, '  ']")),
    ("topics[0].measures", "must map measure names", top("any: [fled]", "measures: [fled]")),
    ("topics[0].measures.fled", "must be a list", top("any: [x]", "measures:", "  fled: fled")),
    ("topics[0].measures.fled", "at least one", top("any: [x]", "measures:", "  fled: []")),
    ("channels", "must be a list", GOOD + "channels: {chat: x}\n"),
    ("channels[0].url", "missing", chan(TO_TALKS, url="")),
    ("channels[0].url", "not an apprise URL", chan(TO_TALKS, url="url: just some text")),
    ("channels[0].topics", "missing", chan()),
    ("channels[0].topics[1]", "unknown topic 'talk'", chan("topics: [talks, talk]")),
    ("channels[1].name", "duplicate name 'chat'", DUP_CHANNEL),
    ("channels[0].digest", "hourly, daily HH:MM", chan(TO_TALKS, "digest: weekly")),
    ("channels[0].digest", "not a time of day", chan(TO_TALKS, "digest: daily 25:00")),
    ("channels[0].digest", "not a valid cron", chan(TO_TALKS, "digest: '61 * * * *'")),
    ("channels[0].digest", "5-field cron", chan(TO_TALKS, "digest: '0 0 8 * * *'")),
    ("store", "SQLAlchemy URL", "store: not a url\n" + GOOD),
    ("store", "unknown database backend 'nosuchdb'", "store: 'nosuchdb:///x.db'\n" + GOOD),
    (
        "channels[0].url",
        "SLACK_TOKEN is not set",
        chan(TO_TALKS, url="url: slack://${SLACK_TOKEN}"),
    ),
    ("topics[0].any[0]", "TERM is not set", top('any: ["${TERM}"]')),
    ("store", "malformed ${...}", "store: '${DB URL}'\n" + GOOD),
    ("store", "malformed ${...}", "store: '${DB'\n" + GOOD),
]


@pytest.mark.parametrize(("key", "problem", "text"), ERRORS, ids=[f"{k}:{p}" for k, p, _ in ERRORS])
def test_config_errors_name_file_key_and_problem(
    tmp_path: Path, key: str | None, problem: str, text: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    message = str(info.value)
    assert (info.value.key, info.value.path) == (key, str(path))
    assert str(path) in message
    assert problem in message
    assert key is None or key in message


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read") as info:
        load_config(tmp_path / "nope.yaml", env={})
    assert str(tmp_path / "nope.yaml") in str(info.value)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"sources: \xff\xfe\n", "not UTF-8"),
        (b"[" * 1500, "nested deeper than 64"),
        (b"a:\n" + b"  - [[[[[1]]]]]\n" * 100, "unknown key"),  # many brackets, shallow: loads
        (b"a: " + b"{a: " * 900 + b"\n", "nested deeper than 64"),
        (
            b'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n'
            + b"".join(
                b"%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n"
                % ((98 + i,) * 2 + (97 + i,) * 10)
                for i in range(8)
            ),
            "more than",
        ),
        (b"x" * 2_000_001, "larger than"),
    ],
    ids=["not-utf8", "deep-nesting", "many-brackets", "deep-maps", "alias-bomb", "huge-file"],
)
def test_hostile_files_fail_cleanly(tmp_path: Path, data: bytes, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_config(write(tmp_path, data), env={})


def test_expanded_values_never_appear_in_errors(tmp_path: Path) -> None:
    env = {"DB": "nosuchdb://u:s3cr3tpw@db.example.org/x", "AGE": "s3cr3tage"}
    for text in ("store: '${DB}'\n" + GOOD, GOOD + "defaults:\n  max_age: '${AGE}'\n"):
        with pytest.raises(ConfigError) as info:
            load_config(write(tmp_path, text), env=env)
        assert "s3cr3t" not in str(info.value)


def test_example_config_loads_and_round_trips() -> None:
    config = load_config(EXAMPLE, env=SECRETS)
    assert config.path == str(EXAMPLE)
    # Relative to the config file's folder: state/ of the checkout, wherever the command runs.
    assert config.store == f"sqlite:///{EXAMPLE.parent.parent / 'state' / 'newswatch.db'}"
    assert [s.kind for s in config.sources] == ["feed", "page", "sitemap", "listing"]
    assert all(".example.org" in s.url for s in config.sources)
    live, sitemap, listing = config.sources[1], config.sources[2], config.sources[3]
    assert (live.settings.interval, live.settings.watch_for, live.settings.timeout) == (120, 0, 20)
    assert sitemap.settings.per_host_delay == 5 and sitemap.settings.interval == 600
    assert listing.links == "main article h2 > a" and listing.settings.max_bytes == 2_000_000
    assert config.defaults.max_age == 3 * 86400 and config.defaults.watch_for == 86400
    talks = config.topics[0]
    assert talks.any == ("talks", "negotiat*", "ceasefire", "delegation*")
    assert (talks.all, talks.none) == (("Russia*", "Ukrain*"), ("trade talks", "pay talks"))
    assert config.topics[2].measures == (
        ("fled", ("fled", "refugees")),
        ("detained", ("detained", "arrested")),
    )
    chat, email, briefing, ops = config.channels
    assert ops.health and ops.topics == ()
    assert (
        chat.url == "slack://T0KENa1/B0KENb2/s3cretSlackTok/#ukraine-desk" and chat.digest is None
    )
    assert email.url == "mailtos://deskbot:hunter2pw@smtp.example.org?to=desk@example.org"
    assert (email.digest, email.is_email, briefing.digest) == ("daily 08:00", True, "30 7 * * 1-5")


def test_example_config_covers_every_key() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    keys = [
        "store",
        "defaults",
        "interval",
        "timeout",
        "per_host_delay",
        "max_age",
        "watch_for",
        "max_bytes",
        "user_agent",
        "sources",
        "name",
        "feed",
        "page",
        "sitemap",
        "listing",
        "links",
        "topics",
        "any",
        "all",
        "none",
        "measures",
        "channels",
        "url",
        "digest",
    ]
    assert [k for k in keys if f"{k}:" not in text] == []


def test_describe_masks_secrets_and_lists_everything() -> None:
    config = load_config(EXAMPLE, env=SECRETS)
    text = describe(config)
    for secret in SECRETS.values():
        for part in secret.split("/"):
            assert part not in text
    for expected in (
        "agency-world",
        "feed",
        "https://news.example.org/feeds/world.rss",
        "every 2m",
        "negotiat*",
        "trade talks",
        "fled (fled, refugees)",
        "desk-chat",
        "slack://***/***/***/#ukraine-desk",
        "smtp.example.org",
        "to=desk@example.org",
        "digest daily 08:00",
        "instant",
        "links: main article h2 > a",
    ):
        assert expected in text


def test_env_expansion_defaults_and_os_environ(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (
        'store: "${STORE:-sqlite:///other.db}"\n'
        + GOOD
        + 'channels:\n  - name: c\n    url: "json://${HOST}/$${literal}"\n    topics: [talks]\n'
    )
    path = write(tmp_path, text)
    config = load_config(path, env={"HOST": "hooks.example.org"})
    assert config.store == f"sqlite:///{tmp_path / 'other.db'}"
    assert config.channels[0].url == "json://hooks.example.org/${literal}"
    assert (
        load_config(path, env={"HOST": "h.example.org", "STORE": "sqlite:///s.db"}).store
        == f"sqlite:///{tmp_path / 's.db'}"
    )
    assert (
        load_config(path, env={"HOST": "h.example.org", "STORE": ""}).store
        == f"sqlite:///{tmp_path / 'other.db'}"
    )
    monkeypatch.setenv("HOST", "from-os.example.org")
    assert "from-os.example.org" in load_config(path).channels[0].url
    with pytest.raises(ConfigError, match="HOST is not set"):
        load_config(path, env={"HOST": ""})


def test_defaults_apply_when_absent(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD + "channels:\n"), env={})
    assert config.store == DEFAULT_STORE.replace("///", f"///{tmp_path}/")
    assert config.defaults == FetchSettings() == config.sources[0].settings
    assert config.channels == ()
    assert config.topics[0].all == () and config.topics[0].measures == ()


def test_source_overrides_only_what_it_names(tmp_path: Path) -> None:
    text = GOOD.replace("a.xml\n", "a.xml\n    per_host_delay: 0\n    user_agent: bot/2\n")
    config = load_config(write(tmp_path, text + "defaults:\n  timeout: 45\n"), env={})
    settings = config.sources[0].settings
    assert (settings.per_host_delay, settings.user_agent, settings.timeout) == (0, "bot/2", 45)
    assert settings.interval == FetchSettings().interval


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30s", 30),
        ("10m", 600),
        ("24h", 86400),
        ("3d", 259200),
        ("1h30m", 5400),
        ("1.5h", 5400),
        ("7 d", 604800),
        (" 45 ", 45),
        ("0", 0),
        (0, 0),
        (90, 90),
        (2.5, 2.5),
        ("12", 12),
    ],
)
def test_parse_duration(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    "value",
    [
        "-5",
        -1,
        "",
        "5x",
        "m",
        "10M",
        "1e3",
        "inf",
        "nan",
        float("nan"),
        float("inf"),
        "ten minutes",
        "10 minutes",
        "9" * 400 + "d",
        True,
        None,
        [],
        "1h-30m",
        "1..5h",
    ],
)
def test_parse_duration_rejects(value: object) -> None:
    with pytest.raises(DurationError) as info:
        parse_duration(value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, ConfigError)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (45, "45s"), (600, "10m"), (86400, "1d"), (5400, "90m"), (1.5, "1.5s")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("spec", "normal", "cron"),
    [
        ("hourly", "hourly", "0 * * * *"),
        ("HOURLY", "hourly", "0 * * * *"),
        ("daily 8:00", "daily 08:00", "0 8 * * *"),
        ("daily  23:59", "daily 23:59", "59 23 * * *"),
        ("30 7 * * 1-5", "30 7 * * 1-5", "30 7 * * 1-5"),
        ("*/15 * * * *", "*/15 * * * *", "*/15 * * * *"),
    ],
)
def test_digest_specs(spec: str, normal: str, cron: str) -> None:
    assert parse_digest(spec) == normal
    assert digest_cron(normal) == cron


@pytest.mark.parametrize(
    "spec",
    [
        "daily",
        "daily 8",
        "daily 24:00",
        "daily 08:60",
        "weekly",
        "* * * *",
        "0 25 * * *",
        "a b c d e",
        "@daily",
    ],
)
def test_digest_rejects(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_digest(spec)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazk/#ukraine-desk",
            "slack://***/***/***/#ukraine-desk",
        ),
        (
            "mailtos://bob:hunter2@smtp.example.org?to=desk@example.org",
            "mailtos://***@smtp.example.org?to=desk@example.org",
        ),
        (
            "mailtos://smtp.example.org:587?user=bob&pass=hunter2&to=a@example.org",
            "mailtos://smtp.example.org:587?user=***&pass=***&to=a@example.org",
        ),
        (
            "json://hooks.example.org/api/abc123?token=zzz&key=k",
            "json://hooks.example.org/***/***?token=***&key=***",
        ),
        ("tgram://123456:ABCdef/987654", "tgram://***/***"),
        ("discord://webhookid/webhooktoken", "discord://***/***"),
        ("ntfy://ntfy.example.org/@desk", "ntfy://ntfy.example.org/@desk"),
        ("not a url", "***"),
        ("mailtos://u:pa#ss@smtp.example.org", "mailtos://***#***"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


@pytest.mark.parametrize(
    ("store", "expected"),
    [
        ("sqlite:///state/nw.db", "sqlite:///{folder}/state/nw.db"),
        ("sqlite:///../nw.db", "sqlite:///{parent}/nw.db"),
        ("sqlite:////abs/nw.db", "sqlite:////abs/nw.db"),
        ("sqlite://", "sqlite://"),
        (
            "postgresql+psycopg://u:p@db.example.org/nw",
            "postgresql+psycopg://u:p@db.example.org/nw",
        ),
    ],
)
def test_a_relative_sqlite_store_is_relative_to_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: str, expected: str
) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    path = folder / "nw.yaml"
    path.write_text(f'store: "{store}"\n' + GOOD, encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # elsewhere: the working directory must not matter
    config = load_config("conf/nw.yaml", env={})
    assert config.store == expected.format(folder=folder, parent=tmp_path)


@pytest.mark.parametrize("store", ["mysql://u@h/db", "oracle://h/db", "mssql+pyodbc://h/db"])
def test_an_unsupported_store_backend_is_a_config_error_naming_store(
    tmp_path: Path, store: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, f'store: "{store}"\n' + GOOD), env={})
    assert info.value.key == "store" and "unsupported" in str(info.value)


def test_health_budget_and_alarm_keys(tmp_path: Path) -> None:
    text = (
        "defaults:\n  budget: 30s\n  alarm_after: 0\n  silent_after: 0\n"
        + GOOD
        + "channels:\n  - name: ops\n    url: json://ops.example.org/\n    health: true\n"
    )
    config = load_config(write(tmp_path, text), env={})
    assert (config.defaults.budget, config.defaults.alarm_after, config.defaults.silent_after) == (
        30,
        0,
        0,
    )
    assert config.channels[0].health and config.channels[0].topics == ()
    for bad, key in [
        ("defaults:\n  budget: 0\n", "defaults.budget"),
        ("defaults:\n  alarm_after: -1\n", "defaults.alarm_after"),
        ("defaults:\n  alarm_after: yes\n", "defaults.alarm_after"),
    ]:
        with pytest.raises(ConfigError) as info:
            load_config(write(tmp_path, bad + GOOD), env={})
        assert info.value.key == key, info.value
    no_topics = GOOD + "channels:\n  - name: c\n    url: json://x.example.org/\n"
    with pytest.raises(ConfigError, match="topics"):
        load_config(write(tmp_path, no_topics), env={})


def test_check_refuses_a_term_re2_cannot_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from newswatch.cli import main

    path = tmp_path / "newswatch.yaml"
    path.write_text(top("any: [talks, '/(\\w+)\\s+\\1/']"))
    assert main(["check", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    assert "topics[0].any[1]" in err and "topic 'talks', term /(\\w+)\\s+\\1/" in err
