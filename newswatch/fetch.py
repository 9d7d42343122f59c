"""The only network seam: polite, size-capped, SSRF-guarded HTTP GETs that raise only FetchError."""

from __future__ import annotations

import http.client
import io
import logging
import random
import re
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Protocol
from urllib.parse import unquote, urljoin

import urllib3
from urllib3.response import BaseHTTPResponse
from urllib3.util import make_headers, parse_url

from newswatch.errors import (
    BlockedFetchError,
    BudgetSpent,
    DeadlineExceeded,
    FetchError,
    NewswatchError,
    PermanentFetchError,
    TransientFetchError,
)
from newswatch.models import FetchResult, FetchSettings, Validators
from newswatch.netguard import Attempt, GuardedPoolManager, Target, admit
from newswatch.redact import redact
from newswatch.robots import FAILURE_TTL, ROBOTS_MAX_BYTES, RobotsCache, RobotsRules

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
DEADLINE_FACTOR = 3.0  # one attempt, body included, may take this many times settings.timeout
_CHUNK = 64 * 1024
_ACCEPT_ENCODING = "gzip, deflate"  # what urllib3 decodes without optional packages
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_DIGITS = re.compile(r"[0-9]{1,18}")

# --- exception translation -----------------------------------------------------------------

_Translations = tuple[tuple[type[BaseException], type[FetchError], str], ...]
_ERRORS = urllib3.exceptions
_TRANSLATIONS: _Translations = (  # first match wins: subclasses before their bases
    (_ERRORS.SSLError, PermanentFetchError, "TLS failure"),
    (_ERRORS.NewConnectionError, TransientFetchError, "connection failed"),
    (_ERRORS.ConnectTimeoutError, TransientFetchError, "connect timeout"),
    (_ERRORS.ReadTimeoutError, TransientFetchError, "read timeout"),
    (_ERRORS.DecodeError, PermanentFetchError, "undecodable body encoding"),
    (_ERRORS.ProtocolError, TransientFetchError, "connection failed"),
    (_ERRORS.LocationValueError, PermanentFetchError, "invalid URL"),
    (_ERRORS.TimeoutError, TransientFetchError, "timeout"),
    (_ERRORS.HTTPError, TransientFetchError, "transport error"),
    (http.client.HTTPException, PermanentFetchError, "malformed HTTP response"),
    (TimeoutError, TransientFetchError, "timeout"),
    (OSError, TransientFetchError, "network error"),
    (ValueError, PermanentFetchError, "invalid URL or response"),
)
# While the body is read, a broken connection or a short body means the body was cut off.
_BODY_TRANSLATIONS: _Translations = (
    (_ERRORS.ProtocolError, TransientFetchError, "body cut off"),
    (http.client.IncompleteRead, TransientFetchError, "body cut off"),
    *_TRANSLATIONS,
)
_TRANSLATABLE = tuple(t for t, _, _ in _TRANSLATIONS)


@contextmanager
def _translated(attempt: Attempt, table: _Translations = _TRANSLATIONS) -> Iterator[None]:
    """Map every library exception to the FetchError tree; messages carry no library text."""
    try:
        yield
    except FetchError:
        raise
    except _TRANSLATABLE as exc:
        if attempt.expired:
            raise DeadlineExceeded("overall deadline exceeded", url=attempt.url) from exc
        kind, label = next((k, lbl) for t, k, lbl in table if isinstance(exc, t))
        raise kind(f"{label} ({type(exc).__name__})", url=attempt.url) from exc


def _retry_after(value: str | None) -> float | None:
    """Seconds asked for by a Retry-After header (delta-seconds or HTTP date), None if unusable."""
    value = (value or "").strip()
    if _DIGITS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _read_capped(response: BaseHTTPResponse, cap: int, shown: str) -> bytes:
    declared = (response.headers.get("Content-Length") or "").strip()
    if _DIGITS.fullmatch(declared) and int(declared) > cap:
        raise PermanentFetchError(
            f"Content-Length {declared} exceeds max_bytes {cap}",
            url=shown,
            status=response.status,
        )
    # A BytesIO hands over its buffer as the bytes (no copy): a 50 MB feed costs 50 MB, not 100.
    body = io.BytesIO()
    # urllib3 decompresses at most _CHUNK bytes per step, so a gzip bomb stops at the cap.
    for chunk in response.stream(_CHUNK, decode_content=True):
        body.write(chunk)
        if body.tell() > cap:
            raise PermanentFetchError(
                f"body exceeds max_bytes {cap} once decoded", url=shown, status=response.status
            )
    return body.getvalue()


def _drain(response: BaseHTTPResponse) -> bool:
    """Finish a reply that has no body by definition (204, 304), so its connection goes back to
    the pool instead of being closed; True if it may. Any other unused body (a redirect's note,
    an error page) is dropped with its connection: reading it could be slow on purpose."""
    if response.status not in (204, 304):
        return False
    try:
        for _ in response.stream(_CHUNK, decode_content=False):
            pass
    except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError):
        return False
    return True


def _basic_auth(url: str) -> dict[str, str]:
    """The Authorization header for credentials in the URL (user:password@host), else none."""
    auth = parse_url(url).auth
    if not auth:
        return {}
    user, _, password = auth.partition(":")
    return make_headers(basic_auth=f"{unquote(user)}:{unquote(password)}")


# --- per-host state ------------------------------------------------------------------------

# Added to a gap shared with other processes: their sends, unlike this process's, are not
# serialised, so scheduling jitter between two machines must not bring arrivals under the gap.
SHARED_GAP_MARGIN = 0.1
# With no gap to keep (per_host_delay 0 and no Crawl-delay), this many requests to one host may be
# in flight at once, as a browser opens a few connections; with a gap, one at a time.
UNPACED_PER_HOST = 6
SHARED_SLOT_TRIES = 4  # a thread woken too late for its slot takes a new one, this many times


class SharedPacing(Protocol):
    """Per-host request slots shared by every process using one store (see store/pacing.py)."""

    def claim(self, host: str, gap: float, earliest: float) -> float:
        """Reserve this process's next request to `host`: not before `earliest` seconds from now
        and at least `gap` seconds after the last slot any process reserved; returns the seconds
        to wait before sending. May raise NewswatchError (e.g. StoreError).
        """
        ...


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes
    retry_after: float | None

    @property
    def validators(self) -> Validators:
        return Validators(self.headers.get("ETag"), self.headers.get("Last-Modified"))


@dataclass
class _Host:
    """Pacing for one host name, never global: ``turn`` is held for the wait and the request of
    a paced request; every request, paced or not, holds one of the host's ``slots``."""

    turn: threading.Lock = field(default_factory=threading.Lock)
    slots: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(UNPACED_PER_HOST)
    )
    last_end: float = float("-inf")
    not_before: float = float("-inf")


@dataclass(frozen=True, slots=True)
class _Job:
    """What one fetch (or its robots.txt download) carries through redirects and retries."""

    settings: FetchSettings
    headers: dict[str, str]
    origin: str  # the host and port of this URL need no address check
    userinfo_ok: bool  # the first URL came from the user or from an admitted URL's credentials
    robots: bool  # obey robots.txt (False while downloading robots.txt itself)
    retries: int
    deadline: float | None = None  # time.monotonic() when the source's budget runs out

    def left(self) -> float:
        """Seconds of budget left (infinite without a budget); BudgetSpent when none."""
        if self.deadline is None:
            return float("inf")
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise BudgetSpent("the source's budget for this cycle is spent")
        return left


# --- the fetcher ---------------------------------------------------------------------------


class Fetcher:
    """One polite HTTP client shared by every task of a run; safe to use from several threads."""

    def __init__(
        self,
        *,
        user_agent: str,
        max_retries: int = 2,
        backoff_base: float = 1.0,
        max_retry_wait: float = 60.0,
        robots_ttl: float = 3600.0,
        pacing: SharedPacing | None = None,
        ca_file: str | None = None,
    ) -> None:
        self._user_agent = user_agent
        self._max_retries = max(0, max_retries)
        self._backoff_base = max(0.0, backoff_base)
        self._max_retry_wait = max(0.0, max_retry_wait)
        self._robots = RobotsCache(robots_ttl)
        self._pools = GuardedPoolManager(ca_file)
        self._lock = threading.Lock()  # guards the dicts below; never held while waiting
        self._hosts: dict[str, _Host] = {}
        self._pacing = pacing  # None: pacing holds within this process only

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._pools.clear()

    def fetch(
        self,
        url: str,
        settings: FetchSettings,
        *,
        validators: Validators | None = None,
        found_on: str | None = None,
        accept: str | None = None,
        deadline: float | None = None,
    ) -> FetchResult:
        """GET ``url``; ``found_on`` is the source a found link came from (None: configured URL).

        ``deadline`` (a ``time.monotonic()`` value) bounds the whole fetch, retries and pacing
        waits included: past it, BudgetSpent. Raises only FetchError subclasses; "not modified"
        is a result with ``not_modified=True``.
        """
        started = time.monotonic()
        outcome = "failed"
        try:
            result = self._fetch(url, settings, validators, found_on, accept, deadline)
            outcome = f"{result.status}, {len(result.content)} bytes"
            return replace(result, elapsed=time.monotonic() - started)
        except FetchError as exc:
            outcome = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            source = redact(found_on) if found_on else "config"
            took = time.monotonic() - started
            log.debug("fetch %s (from %s) -> %s in %.3fs", redact(url), source, outcome, took)

    def _fetch(
        self,
        url: str,
        settings: FetchSettings,
        validators: Validators | None,
        found_on: str | None,
        accept: str | None,
        deadline: float | None = None,
    ) -> FetchResult:
        sent = validators or Validators()
        headers = {
            "User-Agent": settings.user_agent or self._user_agent,
            "Accept-Encoding": _ACCEPT_ENCODING,
        }
        extra = {
            "Accept": accept or "*/*",
            "If-None-Match": sent.etag,
            "If-Modified-Since": sent.last_modified,
        }
        headers.update({name: value for name, value in extra.items() if value})
        # A configured URL vouches only for its own host and port; redirects elsewhere are checked.
        job = _Job(
            settings, headers, found_on or url, found_on is None, True, self._max_retries, deadline
        )
        job.left()
        final_url, reply = self._follow(url, job)
        if reply.status == 304:
            fresh = reply.validators
            kept = Validators(fresh.etag or sent.etag, fresh.last_modified or sent.last_modified)
            return FetchResult(url, final_url, 304, validators=kept, not_modified=True)
        if not 200 <= reply.status < 300:
            shown = redact(final_url)
            raise PermanentFetchError(
                f"unexpected HTTP {reply.status}", url=shown, status=reply.status
            )
        content_type = reply.headers.get("Content-Type", "")
        return FetchResult(url, final_url, reply.status, reply.body, content_type, reply.validators)

    def _follow(self, url: str, job: _Job) -> tuple[str, _Reply]:
        """Follow redirects by hand so every hop passes admission and robots.txt again."""
        current = url
        for hop in range(MAX_REDIRECTS + 1):
            target = admit(current, job.origin, allow_userinfo=job.userinfo_ok and hop == 0)
            gap = max(job.settings.per_host_delay, self._robots_delay(target, job))
            reply = self._with_retries(target, job, gap)
            if reply.status not in _REDIRECT_STATUSES:
                return current, reply
            location = (reply.headers.get("Location") or "").strip()
            if not location:
                raise PermanentFetchError(
                    f"HTTP {reply.status} without Location",
                    url=redact(current),
                    status=reply.status,
                )
            try:
                current = urljoin(target.url, location)
            except ValueError as exc:
                shown = redact(current)
                raise PermanentFetchError("malformed redirect Location", url=shown) from exc
        raise PermanentFetchError(f"more than {MAX_REDIRECTS} redirects", url=redact(url))

    def _with_retries(self, target: Target, job: _Job, gap: float) -> _Reply:
        for attempt in range(job.retries + 1):
            try:
                reply = self._once(target, job, gap)
            except DeadlineExceeded:
                raise
            except TransientFetchError as exc:
                if exc.retry_after is not None or attempt >= job.retries:
                    raise
                self._sleep(self._backoff(attempt), job)
                continue
            if reply.status != 429 and reply.status < 500:
                if reply.status >= 400:
                    shown = redact(target.url)
                    raise PermanentFetchError(
                        f"HTTP {reply.status}", url=shown, status=reply.status
                    )
                return reply
            wait = reply.retry_after
            if attempt >= job.retries or (wait is not None and wait > self._max_retry_wait):
                raise TransientFetchError(
                    f"HTTP {reply.status} after {attempt + 1} attempt(s)",
                    url=redact(target.url),
                    status=reply.status,
                    retry_after=wait,
                )
            if wait is None:  # with Retry-After, the host's not_before makes _once wait instead
                self._sleep(self._backoff(attempt), job)
        raise AssertionError("unreachable: the last attempt returns or raises")

    @staticmethod
    def _sleep(seconds: float, job: _Job) -> None:
        """Wait before a retry, unless the budget would run out meanwhile (then BudgetSpent)."""
        if seconds >= job.left():
            raise BudgetSpent("the source's budget for this cycle is spent")
        time.sleep(seconds)

    def _backoff(self, attempt: int) -> float:
        wait = min(self._max_retry_wait, self._backoff_base * 2.0**attempt)
        return float(wait * random.uniform(0.5, 1.0))

    def _once(self, target: Target, job: _Job, gap: float) -> _Reply:
        """One request once this host's turn comes: paced requests one at a time and `gap`
        apart; without a gap, up to UNPACED_PER_HOST at once (a Retry-After holds them all)."""
        with self._lock:
            host = self._hosts.setdefault(target.host, _Host())
        if gap > 0:
            with host.turn:
                return self._paced(target, job, gap, host)
        with host.slots:
            wait = host.not_before - time.monotonic()
            self._check_wait(target, wait)
            if wait > 0:
                self._sleep(wait, job)
            return self._sent(target, job, host)

    def _sent(self, target: Target, job: _Job, host: _Host) -> _Reply:
        try:
            reply = self._exchange(target, job)
        finally:
            # Measured from the end of the previous request, so arrivals are >= gap apart.
            host.last_end = time.monotonic()
        if reply.retry_after is not None:
            host.not_before = max(host.not_before, host.last_end + reply.retry_after)
        return reply

    def _paced(self, target: Target, job: _Job, gap: float, host: _Host) -> _Reply:
        with host.slots:
            wait = max(host.not_before, host.last_end + gap) - time.monotonic()
            self._check_wait(target, wait)
            if self._pacing is not None:
                self._await_shared_slot(target, gap, wait, job)
            elif wait > 0:
                self._sleep(wait, job)
            return self._sent(target, job, host)

    def _check_wait(self, target: Target, wait: float) -> None:
        if wait > self._max_retry_wait:
            message = f"host {target.host} is paused for {wait:.0f}s more"
            raise TransientFetchError(message, url=redact(target.url), retry_after=wait)

    def _await_shared_slot(self, target: Target, gap: float, local_wait: float, job: _Job) -> None:
        """Sleep until this host's next slot among every process sharing the store.

        Another process may send at the slot after ours, so sending late is as bad as sending
        early. The slot began no earlier than `asked + wait` (the database answered after we
        asked) and we sleep until `answered + wait`; when, after the sleep, we might be more
        than half the margin late (a slow answer, a busy machine), we take a new slot instead.
        """
        for _ in range(SHARED_SLOT_TRIES):
            asked = time.monotonic()
            wait = self._shared_wait(target, gap, local_wait)
            self._check_wait(target, wait)
            if wait > 0:
                self._sleep(wait, job)
            if time.monotonic() - (asked + wait) <= SHARED_GAP_MARGIN / 2:
                return
            local_wait = 0.0
        log.debug(
            "pacing: late for %d slots in a row on %s; sending", SHARED_SLOT_TRIES, target.host
        )

    def _shared_wait(self, target: Target, gap: float, local_wait: float) -> float:
        """This host's slot among every process sharing the store (one small transaction).

        A slot is a timestamp, not a lock: a process killed after claiming one delays the host
        by that one gap at most, and nothing needs releasing.
        """
        assert self._pacing is not None
        try:
            return self._pacing.claim(target.host, gap + SHARED_GAP_MARGIN, max(0.0, local_wait))
        except NewswatchError as exc:
            raise TransientFetchError(
                f"cannot reserve a request slot for {target.host}: {exc}", url=redact(target.url)
            ) from exc

    def _exchange(self, target: Target, job: _Job) -> _Reply:
        settings = job.settings
        attempt = Attempt(redact(target.url), target.require_public)
        left = job.left()
        timeout = (min(settings.timeout, left), min(settings.timeout, left))
        cut = min(settings.timeout * DEADLINE_FACTOR, left)
        try:
            return self._exchange_once(target, job, attempt, timeout, cut)
        except DeadlineExceeded as exc:
            if cut < settings.timeout * DEADLINE_FACTOR and not isinstance(exc, BudgetSpent):
                spent = "the source's budget for this cycle ran out"
                raise BudgetSpent(spent, url=attempt.url) from exc
            raise

    def _exchange_once(
        self, target: Target, job: _Job, attempt: Attempt, timeout: tuple[float, float], cut: float
    ) -> _Reply:
        settings, headers = job.settings, {**job.headers, **_basic_auth(target.url)}
        with attempt.running(cut):
            with _translated(attempt):
                response = self._pools.urlopen(
                    "GET",
                    target.url,
                    headers=headers,
                    timeout=urllib3.Timeout(connect=timeout[0], read=timeout[1]),
                    retries=False,
                    redirect=False,
                    preload_content=False,
                    decode_content=False,
                )
            reusable = False
            try:
                status = response.status
                ok = 200 <= status < 300
                with _translated(attempt, _BODY_TRANSLATIONS):
                    body = _read_capped(response, settings.max_bytes, attempt.url) if ok else b""
                reusable = ok or _drain(response)
                asks_wait = status == 429 or status >= 500
                retry_after = (
                    _retry_after(response.headers.get("Retry-After")) if asks_wait else None
                )
            finally:
                if not reusable:
                    response.close()  # its connection is dropped, not put back in the pool
                response.release_conn()
            if attempt.expired:  # a close-delimited body cut by the deadline looks complete
                raise DeadlineExceeded("overall deadline exceeded", url=attempt.url)
            return _Reply(status, response.headers, body, retry_after)

    # --- robots.txt --------------------------------------------------------------------------

    def _robots_delay(self, target: Target, job: _Job) -> float:
        """Raise when robots.txt forbids the URL (or cannot be read now); return its Crawl-delay."""
        if not job.robots:
            return 0.0
        robots = self._robots.get(
            target.origin, lambda expires: self._load_robots(target.url, job, expires)
        )
        return robots.delay_for(target.url, job.headers["User-Agent"], redact(target.url))

    def _load_robots(self, page_url: str, job: _Job, expires: float) -> RobotsRules:
        """Download robots.txt for the page's origin; its status decides when there is no text."""
        url = urljoin(page_url, "/robots.txt")
        capped = replace(job.settings, max_bytes=min(job.settings.max_bytes, ROBOTS_MAX_BYTES))
        headers = {
            "User-Agent": job.headers["User-Agent"],
            "Accept": "text/plain, */*;q=0.1",
            "Accept-Encoding": _ACCEPT_ENCODING,
        }
        # The URL keeps the credentials the page itself was admitted with, and no others.
        robots_job = _Job(
            capped, headers, job.origin, True, robots=False, retries=0, deadline=job.deadline
        )
        try:
            _, reply = self._follow(url, robots_job)
        except BudgetSpent:
            raise  # our budget, not the host's failure: robots.txt is read again next cycle
        except TransientFetchError:
            return RobotsRules(min(expires, time.monotonic() + FAILURE_TTL), unavailable=True)
        except PermanentFetchError as exc:
            return RobotsRules(expires, deny_all=exc.status in (401, 403))
        except BlockedFetchError:
            return RobotsRules(expires)  # e.g. it redirects somewhere refused: no rules to obey
        if reply.status != 200:
            return RobotsRules(expires)
        return RobotsRules.from_text(reply.body, expires)
