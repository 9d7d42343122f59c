"""Fetcher behaviour against a real local HTTP server: robots, pacing, safety, caps and retries."""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
import threading
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from newswatch import fetch as fetch_module
from newswatch import netguard
from newswatch.errors import (
    BlockedFetchError,
    FetchError,
    PermanentFetchError,
    TransientFetchError,
)
from newswatch.fetch import Fetcher
from newswatch.models import FetchSettings, Validators
from newswatch.netguard import is_public_address
from tests.httpfixture import Handler, LocalHTTPServer, Reply, Seen

UA = "newswatch-test/1.0 (+https://example.org/newswatch)"
FAST = FetchSettings(timeout=2.0, per_host_delay=0.0, user_agent=UA)
ELSEWHERE = "https://news.example.org/feed"  # a source on another host; never contacted


@pytest.fixture
def server() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as srv:
        srv.route("/robots.txt", Reply(404))
        yield srv


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(user_agent=UA, max_retries=2, backoff_base=0.01, max_retry_wait=5.0) as f:
        yield f


def gaps(seen: list[Seen]) -> list[float]:
    arrivals = sorted(s.arrived for s in seen)
    return [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]


def bomb(wbits: int, size: int = 10_000_000) -> bytes:
    """A small compressed body that expands to ``size`` zero bytes."""
    packer = zlib.compressobj(1, zlib.DEFLATED, wbits)
    block = bytes(1_000_000)
    return b"".join(packer.compress(block) for _ in range(size // len(block))) + packer.flush()


# --- robots.txt and politeness -------------------------------------------------------------


def test_robots_disallow_is_obeyed_and_robots_fetched_once(server, fetcher) -> None:
    server.route("/robots.txt", Reply(200, b"User-agent: *\nDisallow: /private\n"))
    server.route("/public", Reply(200, b"ok"))
    assert fetcher.fetch(server.url("/public"), FAST).content == b"ok"
    assert fetcher.fetch(server.url("/public"), FAST).content == b"ok"
    with pytest.raises(BlockedFetchError, match="robots.txt"):
        fetcher.fetch(server.url("/private"), FAST)
    assert len(server.seen("/robots.txt")) == 1
    assert server.seen("/private") == []


def test_robots_group_naming_our_product_token_applies(server, fetcher) -> None:
    robots = b"User-agent: newswatch-test\nDisallow: /\n\nUser-agent: *\nAllow: /\n"
    server.route("/robots.txt", Reply(200, robots))
    with pytest.raises(BlockedFetchError):
        fetcher.fetch(server.url("/page"), FAST)
    assert server.seen("/page") == []


@pytest.mark.parametrize(
    ("robots_status", "expected"),
    [(404, None), (410, None), (401, BlockedFetchError), (403, BlockedFetchError)]
    + [(500, TransientFetchError), (503, TransientFetchError)],
)
def test_robots_status_decides(server, fetcher, robots_status, expected) -> None:
    server.route("/robots.txt", Reply(robots_status))
    server.route("/page", Reply(200, b"page"))
    if expected is None:
        assert fetcher.fetch(server.url("/page"), FAST).content == b"page"
        assert len(server.seen("/page")) == 1
    else:
        with pytest.raises(expected):
            fetcher.fetch(server.url("/page"), FAST)
        assert server.seen("/page") == []
    assert len(server.seen("/robots.txt")) == 1  # robots.txt itself is never retried


def test_user_agent_and_accept_are_sent(server, fetcher) -> None:
    server.route("/feed", Reply(200, b"<rss/>", headers=[("Content-Type", "application/rss+xml")]))
    result = fetcher.fetch(server.url("/feed"), FAST, accept="application/rss+xml")
    assert result.content_type == "application/rss+xml"
    assert result.elapsed > 0
    for seen in server.seen():
        assert seen.header("User-Agent") == UA
    assert server.seen("/feed")[0].header("Accept") == "application/rss+xml"


@pytest.mark.parametrize(
    ("etag", "last_modified"),
    [
        ('"v1"', None),
        (None, "Tue, 04 Nov 2025 10:00:00 GMT"),
        ('W/"v2"', "Wed, 05 Nov 2025 1:00:00 GMT"),
    ],
)
def test_validators_round_trip_to_not_modified(server, fetcher, etag, last_modified) -> None:
    def handler(seen: Seen) -> Reply:
        inm, ims = seen.header("If-None-Match"), seen.header("If-Modified-Since")
        if (etag and inm == etag) or (last_modified and not etag and ims == last_modified):
            return Reply(304)
        headers = [("ETag", etag)] if etag else []
        headers += [("Last-Modified", last_modified)] if last_modified else []
        return Reply(200, b"body", headers=headers)

    server.route("/a", handler)
    first = fetcher.fetch(server.url("/a"), FAST)
    assert (first.content, first.not_modified) == (b"body", False)
    assert first.validators == Validators(etag, last_modified)
    second = fetcher.fetch(server.url("/a"), FAST, validators=first.validators)
    assert second.not_modified and second.status == 304 and second.content == b""
    assert second.validators == first.validators
    sent = server.seen("/a")[1]
    assert (sent.header("If-None-Match"), sent.header("If-Modified-Since")) == (etag, last_modified)


def test_requests_to_one_host_are_spaced(server, fetcher) -> None:
    server.route("/a", Reply(200, b"a"))
    server.route("/b", Reply(200, b"b"))
    paced = FetchSettings(timeout=2.0, per_host_delay=0.3, user_agent=UA)
    for path in ("/a", "/b", "/a"):
        fetcher.fetch(server.url(path), paced)
    assert len(server.seen()) == 4  # robots.txt + three pages
    assert min(gaps(server.seen())) >= 0.3


def test_pacing_holds_across_threads(server, fetcher) -> None:
    server.route("/a", Reply(200, b"a"))
    server.route("/b", Reply(200, b"b"))
    paced = FetchSettings(timeout=2.0, per_host_delay=0.3, user_agent=UA)
    start = threading.Barrier(2)
    results: dict[str, bytes] = {}

    def worker(path: str) -> None:
        start.wait()
        results[path] = fetcher.fetch(server.url(path), paced).content

    threads = [threading.Thread(target=worker, args=(p,)) for p in ("/a", "/b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert results == {"/a": b"a", "/b": b"b"}
    assert len(server.seen()) == 3
    assert min(gaps(server.seen())) >= 0.3


def test_unpaced_requests_to_one_host_overlap(server, fetcher) -> None:
    """With no gap to keep, a few requests to one host are in flight at once (a slow host does
    not hold every source on it back), up to UNPACED_PER_HOST."""
    server.route("/slow", Reply(200, b"s", stall=0.6))
    server.route("/first", Reply(200, b"f"))
    fetcher.fetch(server.url("/first"), FAST)  # robots.txt is read once, before the race
    wanted = fetch_module.UNPACED_PER_HOST + 2
    start = threading.Barrier(wanted)

    def worker() -> None:
        start.wait()
        fetcher.fetch(server.url("/slow"), FAST)

    threads = [threading.Thread(target=worker) for _ in range(wanted)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    arrived = sorted(s.arrived for s in server.seen("/slow"))
    assert len(arrived) == wanted
    # The first UNPACED_PER_HOST arrive together, well inside one 0.6 s reply; the rest wait
    # for a free slot, so they arrive at least one reply later.
    first = arrived[: fetch_module.UNPACED_PER_HOST]
    assert first[-1] - first[0] < 0.4
    assert arrived[fetch_module.UNPACED_PER_HOST] - first[0] >= 0.5


def test_not_modified_keeps_the_connection(server, fetcher) -> None:
    """A 304 has no body: its connection goes back to the pool for the next request."""
    server.route("/a", Reply(304, headers=[("ETag", '"v1"')]))
    for _ in range(3):
        assert fetcher.fetch(server.url("/a"), FAST, validators=Validators('"v1"')).not_modified
    assert len({s.peer_port for s in server.seen("/a")}) == 1


def test_crawl_delay_raises_the_gap(server, fetcher) -> None:
    server.route("/robots.txt", Reply(200, b"User-agent: *\nCrawl-delay: 0.5\n"))
    server.route("/a", Reply(200, b"a"))
    for _ in range(2):
        fetcher.fetch(server.url("/a"), FAST)
    assert min(gaps(server.seen("/a"))) >= 0.5


# --- size caps -----------------------------------------------------------------------------

LIMITED = FetchSettings(timeout=2.0, per_host_delay=0.0, max_bytes=100_000, user_agent=UA)


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(200, bytes(150_000)), "Content-Length"),
        (Reply(200, bytes(300_000), chunked=True, piece=8192), "once decoded"),
        (Reply(200, bytes(300_000), content_length=False), "once decoded"),
        (Reply(200, bomb(31), headers=[("Content-Encoding", "gzip")]), "once decoded"),
        (Reply(200, bomb(15), headers=[("Content-Encoding", "deflate")], chunked=True), "decoded"),
    ],
    ids=["content-length", "chunked", "close-delimited", "gzip-bomb", "deflate-bomb-chunked"],
)
def test_oversized_responses_are_refused(server, fetcher, reply, message) -> None:
    server.route("/big", reply)
    with pytest.raises(PermanentFetchError, match=message):
        fetcher.fetch(server.url("/big"), LIMITED)
    assert len(server.seen("/big")) == 1


def test_compressed_body_under_the_cap_is_decoded(server, fetcher) -> None:
    text = b"<p>peace talks</p>" * 1000
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    gz = packer.compress(text) + packer.flush()
    server.route("/gz", Reply(200, gz, headers=[("Content-Encoding", "gzip")]))
    assert fetcher.fetch(server.url("/gz"), LIMITED).content == text


# --- where found links may go --------------------------------------------------------------


def test_found_link_to_other_name_for_loopback_is_refused(server, fetcher) -> None:
    server.route("/x", Reply(200, b"secret"))
    link = server.url("/x").replace("127.0.0.1", "localhost")
    with pytest.raises(BlockedFetchError, match="non-public address 127.0.0.1"):
        fetcher.fetch(link, FAST, found_on=server.url("/feed"))
    assert server.seen() == []


def test_found_link_on_the_source_host_is_allowed(server, fetcher) -> None:
    server.route("/x", Reply(200, b"article"))
    assert fetcher.fetch(server.url("/x"), FAST, found_on=server.url("/feed")).content == b"article"


@pytest.mark.parametrize(
    "location",
    ["http://127.0.0.2:{port}/", "http://169.254.169.254/latest/meta-data/"]
    + ["http://[::1]:{port}/", "http://localhost:{port}/x", "file:///etc/passwd"],
)
@pytest.mark.parametrize("configured", [True, False], ids=["configured", "found"])
def test_redirect_to_a_private_address_is_refused(server, fetcher, location, configured) -> None:
    server.route("/hop", Reply(302, headers=[("Location", location.format(port=server.port))]))
    found_on = None if configured else server.url("/feed")
    with pytest.raises(BlockedFetchError):
        fetcher.fetch(server.url("/hop"), FAST, found_on=found_on)
    assert [s.path for s in server.seen()] == ["/robots.txt", "/hop"]


@pytest.mark.parametrize(
    "link",
    ["http://[::1]/", "http://2130706433/", "http://[::ffff:127.0.0.1]/", "http://0x7f000001/"]
    + [
        "http://[::ffff:169.254.169.254]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:7f00:1::]/",
    ]
    + ["http://0.0.0.0/", "http://100.64.0.1/", "http://[fd00:ec2::254]/", "http://10.1.2.3/"]
    + ["ftp://example.org/f", "file:///etc/passwd", "gopher://x/", "//example.org/"]
    + ["http://user:pw@example.org/"],
)
def test_found_links_that_are_refused(fetcher, link) -> None:
    with pytest.raises(BlockedFetchError) as caught:
        fetcher.fetch(link, FAST, found_on=ELSEWHERE)
    assert "pw" not in str(caught.value)


@pytest.mark.parametrize(
    ("address", "public"),
    [("8.8.8.8", True), ("2606:4700::1111", True), ("::ffff:8.8.8.8", True)]
    + [("64:ff9b::808:808", True), ("2002:808:808::", True)]
    + [("127.0.0.1", False), ("10.0.0.1", False), ("172.16.0.1", False), ("192.168.1.1", False)]
    + [("100.64.0.1", False), ("169.254.169.254", False), ("192.0.0.192", False)]
    + [("224.0.0.1", False), ("0.0.0.0", False), ("255.255.255.255", False), ("240.0.0.1", False)]
    + [("198.18.0.1", False), ("::1", False), ("::", False), ("::ffff:127.0.0.1", False)]
    + [("64:ff9b::7f00:1", False), ("64:ff9b:1::808:808", False), ("2002:7f00:1::", False)]
    + [("fd00:ec2::254", False), ("fe80::1%eth0", False), ("ff02::1", False)]
    + [("2001:db8::1", False), ("2001::1", False), ("not-an-ip", False), ("", False)],
)
def test_is_public_address(address, public) -> None:
    assert is_public_address(address) is public


def test_rebinding_is_caught_at_connect_time(server, fetcher, monkeypatch) -> None:
    server.route("/x", Reply(200, b"internal"))
    monkeypatch.setattr(netguard, "resolve", lambda host, port: ["93.184.216.34"])
    link = server.url("/x").replace("127.0.0.1", "localhost")
    with pytest.raises(BlockedFetchError, match="connected to non-public address"):
        fetcher.fetch(link, FAST, found_on=ELSEWHERE)
    assert server.seen() == []


def test_pooled_trusted_connection_is_rechecked(server, fetcher, monkeypatch) -> None:
    server.route("/a", Reply(200, b"a"))
    server.route("/b", Reply(200, b"b"))
    base = server.base.replace("127.0.0.1", "localhost")
    assert fetcher.fetch(base + "/a", FAST).content == b"a"  # configured: trusted, pooled
    monkeypatch.setattr(netguard, "resolve", lambda host, port: ["93.184.216.34"])
    with pytest.raises(BlockedFetchError, match="connected to non-public address"):
        fetcher.fetch(base + "/b", FAST, found_on=ELSEWHERE)
    assert server.seen("/b") == []


def test_secrets_stay_out_of_logs_and_errors(server, fetcher, caplog) -> None:
    server.route("/feed", Reply(404))
    url = server.url("/feed?api_key=hunter2").replace("//", "//user:s3cret@", 1)
    caplog.set_level(logging.DEBUG, logger="newswatch.fetch")
    with pytest.raises(PermanentFetchError) as caught:
        fetcher.fetch(url, FAST)
    assert server.seen("/feed?api_key=hunter2")[0].header("Authorization") is not None
    for text in (caplog.text, str(caught.value)):
        assert "s3cret" not in text and "hunter2" not in text
    assert "fetch http://127.0.0.1" in caplog.text


# --- redirects, errors and retries ---------------------------------------------------------


def test_redirects_are_followed_and_reported(server, fetcher) -> None:
    server.route("/old", Reply(301, headers=[("Location", "/mid")]))
    server.route("/mid", Reply(302, headers=[("Location", server.url("/new"))]))
    server.route("/new", Reply(200, b"new"))
    result = fetcher.fetch(server.url("/old"), FAST)
    assert (result.url, result.final_url, result.content) == (
        server.url("/old"),
        server.url("/new"),
        b"new",
    )


def test_redirect_body_is_not_read(server, fetcher) -> None:
    drip = Reply(302, b"x" * 100, headers=[("Location", "/ok")], piece=1, pause=0.05)
    server.route("/moved", drip)
    server.route("/ok", Reply(200, b"ok"))
    assert (
        fetcher.fetch(server.url("/moved"), FetchSettings(timeout=0.3, per_host_delay=0)).content
        == b"ok"
    )


def test_redirect_loop_stops(server, fetcher) -> None:
    server.route("/loop", Reply(302, headers=[("Location", "/loop")]))
    with pytest.raises(PermanentFetchError, match="redirects"):
        fetcher.fetch(server.url("/loop"), FAST)
    assert len(server.seen("/loop")) == fetch_module.MAX_REDIRECTS + 1


def test_server_error_is_retried_then_transient(server, fetcher) -> None:
    server.route("/x", Reply(500))
    with pytest.raises(TransientFetchError) as caught:
        fetcher.fetch(server.url("/x"), FAST)
    assert caught.value.status == 500
    assert len(server.seen("/x")) == 3  # one attempt + max_retries=2


def test_unavailable_then_ok_succeeds(server, fetcher) -> None:
    server.route("/x", [Reply(503), Reply(200, b"back")])
    assert fetcher.fetch(server.url("/x"), FAST).content == b"back"
    assert len(server.seen("/x")) == 2


def test_retry_after_is_waited_for(server, fetcher) -> None:
    server.route("/x", [Reply(429, headers=[("Retry-After", "1")]), Reply(200, b"ok")])
    assert fetcher.fetch(server.url("/x"), FAST).content == b"ok"
    assert gaps(server.seen("/x")) and min(gaps(server.seen("/x"))) >= 1.0


@pytest.mark.parametrize(
    "retry_after",
    ["3600", format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True)],
    ids=["seconds", "http-date"],
)
def test_long_retry_after_fails_fast_and_pauses_the_host(server, fetcher, retry_after) -> None:
    server.route("/x", Reply(503, headers=[("Retry-After", retry_after)]))
    server.route("/y", Reply(200, b"y"))
    with pytest.raises(TransientFetchError) as caught:
        fetcher.fetch(server.url("/x"), FAST)
    assert caught.value.retry_after is not None and caught.value.retry_after > 3000
    with pytest.raises(TransientFetchError) as again:
        fetcher.fetch(server.url("/y"), FAST)
    assert again.value.retry_after is not None and again.value.retry_after > 3000
    assert len(server.seen("/x")) == 1
    assert server.seen("/y") == []


def test_read_timeout_is_transient_and_retried(server) -> None:
    server.route("/slow", Reply(200, b"late", stall=10))
    slow = FetchSettings(timeout=0.3, per_host_delay=0)
    with (
        Fetcher(user_agent=UA, max_retries=1, backoff_base=0.01) as fetcher,
        pytest.raises(TransientFetchError, match="timeout"),
    ):
        fetcher.fetch(server.url("/slow"), slow)
    assert len(server.seen("/slow")) == 2


@pytest.mark.parametrize(
    "framing",
    [{}, {"chunked": True}, {"content_length": False}],
    ids=["length", "chunked", "close"],
)
@pytest.mark.timeout(20)  # without the deadline cut the body would take 100 s
def test_slow_drip_body_hits_the_deadline(server, fetcher, framing) -> None:
    server.route("/drip", Reply(200, b"x" * 2000, piece=1, pause=0.05, **framing))
    with pytest.raises(TransientFetchError, match="deadline"):
        fetcher.fetch(server.url("/drip"), FetchSettings(timeout=0.3, per_host_delay=0))
    assert len(server.seen("/drip")) == 1  # a slow-drip server is not given a second go


@pytest.mark.parametrize("status", [400, 404, 410])
def test_client_errors_are_permanent_and_not_retried(server, fetcher, status) -> None:
    server.route("/gone", Reply(status))
    with pytest.raises(PermanentFetchError) as caught:
        fetcher.fetch(server.url("/gone"), FAST)
    assert caught.value.status == status
    assert len(server.seen("/gone")) == 1


def test_connection_refused_is_transient(fetcher) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransientFetchError):
        fetcher.fetch(f"http://127.0.0.1:{port}/", FAST)


@pytest.mark.parametrize("url", ["http://", "http://exa mple.org/", "http://[::1/", "not a url"])
def test_malformed_urls_raise_fetch_errors(fetcher, url) -> None:
    with pytest.raises(FetchError):
        fetcher.fetch(url, FAST)


@pytest.mark.parametrize(
    "reply",
    [
        Reply(raw=b"garbage\r\n\r\n"),
        Reply(raw=b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc"),
        Reply(raw=b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"),
        Reply(raw=b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 120 + b"\r\n"),
        Reply(raw=b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n"),
        Reply(200, b"not gzip at all", headers=[("Content-Encoding", "gzip")]),
        Reply(302, headers=[("Location", "http://[broken/")]),
        Reply(302),
        Reply(300, b"choices"),
    ],
    ids=["status-line", "chunk-size", "short-body", "101-headers", "long-header", "bad-gzip"]
    + ["bad-location", "no-location", "300"],
)
def test_hostile_responses_raise_fetch_errors(server, fetcher, reply) -> None:
    server.route("/h", reply)
    with pytest.raises(FetchError):
        fetcher.fetch(server.url("/h"), FAST)
    assert server.seen("/h")


def test_configured_credentials_also_open_robots_txt(server, fetcher) -> None:
    def guarded(body: bytes) -> Handler:
        def handler(seen: Seen) -> Reply:
            return Reply(200, body) if seen.header("Authorization") else Reply(401)

        return handler

    server.route("/robots.txt", guarded(b"User-agent: *\nAllow: /\n"))
    server.route("/feed", guarded(b"<rss/>"))
    url = server.url("/feed").replace("//", "//reader:pw@", 1)
    assert fetcher.fetch(url, FAST).content == b"<rss/>"
    assert all(s.header("Authorization") for s in server.seen())


# --- TLS: the same guards on an HTTPS connection -------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed certificate for 127.0.0.1 and localhost, key and cert in one PEM file."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "newswatch test")])
    now = datetime.now(UTC)
    names = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = tmp_path_factory.mktemp("tls") / "server.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    return pem


@pytest.fixture
def tls_server(certificate: Path) -> Iterator[LocalHTTPServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate)
    with LocalHTTPServer(tls=context) as srv:
        srv.route("/robots.txt", Reply(404))
        yield srv


@pytest.fixture
def tls_fetcher(certificate: Path) -> Iterator[Fetcher]:
    with Fetcher(user_agent=UA, max_retries=0, ca_file=str(certificate)) as f:
        yield f  # trusts the test certificate only


def test_https_fetch_works(tls_server, tls_fetcher) -> None:
    tls_server.route("/a", Reply(200, b"secure"))
    assert tls_fetcher.fetch(tls_server.url("/a"), FAST).content == b"secure"


@pytest.mark.timeout(20)  # without the deadline cut this read would take 100 s
def test_https_with_a_certificate_nobody_vouches_for_fails_as_tls(tls_server) -> None:
    tls_server.route("/a", Reply(200, b"secure"))
    with (
        Fetcher(user_agent=UA, max_retries=0) as default_trust,
        pytest.raises(PermanentFetchError, match="TLS failure"),
    ):
        default_trust.fetch(tls_server.url("/a"), FAST)


def test_default_request_headers_and_no_cookies_kept(server, fetcher) -> None:
    server.route("/a", Reply(200, b"x", headers=[("Set-Cookie", "tracker=1; Path=/")]))
    server.route("/b", Reply(200, b"y"))
    fetcher.fetch(server.url("/a"), FAST)
    fetcher.fetch(server.url("/b"), FAST)
    seen = server.seen("/b")[0]
    assert (seen.header("Accept"), seen.header("Accept-Encoding")) == ("*/*", "gzip, deflate")
    assert seen.header("User-Agent") == UA
    assert seen.header("Cookie") is None  # each request stands alone
    robots = server.seen("/robots.txt")[0]
    assert robots.header("Accept-Encoding") == "gzip, deflate"


@pytest.mark.timeout(20)  # without the deadline cut this read would take 100 s
def test_https_slow_drip_is_cut_at_the_deadline(tls_server, tls_fetcher) -> None:
    tls_server.route("/drip", Reply(200, b"x" * 2000, piece=1, pause=0.05, content_length=False))
    with pytest.raises(TransientFetchError, match="deadline"):
        tls_fetcher.fetch(tls_server.url("/drip"), FetchSettings(timeout=0.3, per_host_delay=0))


def test_https_rebinding_is_caught_before_handshake(tls_server, tls_fetcher, monkeypatch) -> None:
    tls_server.route("/x", Reply(200, b"internal"))
    monkeypatch.setattr(netguard, "resolve", lambda host, port: ["93.184.216.34"])
    link = tls_server.url("/x").replace("127.0.0.1", "localhost")
    with pytest.raises(BlockedFetchError, match="connected to non-public address"):
        tls_fetcher.fetch(link, FAST, found_on=ELSEWHERE)
    assert tls_server.seen() == []


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("120", 120.0), ("0", 0.0), (" 7 ", 7.0), ("²", None), ("-5", None), ("soon", None)]
    + [("", None), (None, None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)
def test_retry_after_header_values(header, seconds) -> None:
    assert fetch_module._retry_after(header) == seconds
