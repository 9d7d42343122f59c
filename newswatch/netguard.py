"""Where a fetch may go: URL admission before a request and the peer check when it connects."""

from __future__ import annotations

import contextvars
import heapq
import ipaddress
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import requests
import urllib3
from requests.models import PreparedRequest
from requests.utils import DEFAULT_CA_BUNDLE_PATH
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util import parse_url

from newswatch.errors import (
    BlockedFetchError,
    DeadlineExceeded,
    PermanentFetchError,
    TransientFetchError,
)
from newswatch.redact import redact

DEFAULT_PORTS = {"http": 80, "https": 443}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Ranges that some Python versions still call global, or that front cloud metadata services.
_NEVER_PUBLIC = tuple(
    ipaddress.ip_network(n)
    for n in ("0.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "192.0.0.0/24", "198.18.0.0/15")
    + ("224.0.0.0/4", "240.0.0.0/4", "64:ff9b:1::/48", "2001::/32", "fc00::/7", "ff00::/8")
)


def is_public_address(address: str) -> bool:
    """True when the IP literal is globally routable, also once unwrapped from an IPv6 form."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour
        if inner is None and ip in _NAT64:
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            return is_public_address(str(inner))
    flags = (ip.is_private, ip.is_loopback, ip.is_link_local, ip.is_multicast, ip.is_reserved)
    return ip.is_global and not any(flags) and not any(ip in net for net in _NEVER_PUBLIC)


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (a seam: tests replace it to simulate DNS rebinding)."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


# --- admission before the request ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """A URL that passed admission, as it goes on the wire."""

    url: str
    scheme: str
    host: str  # lower case, no brackets, no trailing dot
    port: int
    require_public: bool  # the connected peer must be a public address

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def _wire(url: str) -> str:
    """The URL as it goes on the wire (IDNA host, percent-encoded path), so the checks and the
    connection see the same host. Normalised as requests does (its URL preparation only)."""
    prepared = PreparedRequest()
    prepared.prepare_url(url, None)
    return prepared.url or ""


def _host_port(wire_url: str) -> tuple[str, int | None]:
    parsed = parse_url(wire_url)
    host = (parsed.host or "").strip("[]").rstrip(".").lower()
    return host, parsed.port or DEFAULT_PORTS.get((parsed.scheme or "").lower())


def _origin_key(origin: str) -> tuple[str, int | None] | None:
    try:
        return _host_port(_wire(origin))
    except (requests.RequestException, urllib3.exceptions.HTTPError, ValueError):
        return None


def admit(url: str, origin: str, *, allow_userinfo: bool) -> Target:
    """Refuse what may not be fetched; only the host and port of ``origin`` skip the address check.

    Raises BlockedFetchError (scheme, userinfo, non-public address), PermanentFetchError
    (malformed URL) or TransientFetchError (the name does not resolve now).
    """
    shown = redact(url)
    scheme = url.split(":", 1)[0].strip().lower() if ":" in url else ""
    if scheme not in DEFAULT_PORTS:
        raise BlockedFetchError(f"scheme {scheme or '(none)'!r} is not http or https", url=shown)
    try:
        wire = _wire(url)
        parsed = parse_url(wire)
        host, port = _host_port(wire)
    except (requests.RequestException, urllib3.exceptions.HTTPError, ValueError) as exc:
        raise PermanentFetchError(f"malformed URL ({type(exc).__name__})", url=shown) from exc
    if parsed.auth and not allow_userinfo:
        raise BlockedFetchError("credentials in a found URL are refused", url=shown)
    if not host or port is None:
        raise PermanentFetchError("URL has no host", url=shown)
    same = (host, port) == _origin_key(origin)
    if not same:
        _require_public(host, port, shown)
    return Target(wire, scheme, host, port, require_public=not same)


def _require_public(host: str, port: int, shown: str) -> None:
    try:
        addresses = resolve(host, port)
    except socket.gaierror as exc:
        raise TransientFetchError(f"cannot resolve {host}", url=shown) from exc
    except (UnicodeError, OSError) as exc:
        raise PermanentFetchError(
            f"cannot resolve {host} ({type(exc).__name__})", url=shown
        ) from exc
    bad = [a for a in addresses if not is_public_address(a)] or ([] if addresses else ["(none)"])
    if bad:
        raise BlockedFetchError(f"{host} resolves to non-public address {bad[0]}", url=shown)


# --- one request on the wire: peer check and deadline ----------------------------------------


class Attempt:
    """The rules of one request: whether its peer must be public, and a deadline that cuts it."""

    def __init__(self, url: str, require_public: bool) -> None:
        self.url = url
        self.require_public = require_public
        self.expired = False
        self._finished = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def admit_peer(self, sock: socket.socket) -> None:
        """Check the address actually connected to, so DNS rebinding after admission is caught."""
        if self.require_public:
            peer = str(sock.getpeername()[0])
            if not is_public_address(peer):
                raise BlockedFetchError(f"connected to non-public address {peer}", url=self.url)
        self.track(sock)

    def track(self, sock: socket.socket) -> None:
        """Remember a socket to cut at the deadline."""
        with self._lock:
            if all(s is not sock for s in self._sockets):
                self._sockets.append(sock)
            if self.expired:
                raise DeadlineExceeded("overall deadline exceeded", url=self.url)

    def expire(self) -> None:
        """Called by a timer at the deadline: cut the sockets so a blocked read returns."""
        with self._lock:
            if self._finished:
                return
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            # Kept here because a response that reads to EOF owns the socket, not the connection.
            # The base-class shutdown also works on a TLS socket without touching its SSL state.
            with suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    @contextmanager
    def running(self, deadline: float) -> Iterator[None]:
        """Make this the attempt that guarded connections in this thread report to, cut by the
        watchdog ``deadline`` seconds from now."""
        token = _CURRENT.set(self)
        _WATCHDOG.watch(time.monotonic() + deadline, self)
        try:
            yield
        finally:
            with self._lock:
                self._finished = True
                self._sockets = []  # the watchdog keeps the attempt until its deadline, not these
            _CURRENT.reset(token)


class _Watchdog:
    """One thread that cuts every attempt still running at its deadline.

    A thread per request (a ``threading.Timer``) cost more than an idle cycle's whole request;
    here an attempt is a heap entry, and a finished one is simply skipped when its time comes.
    """

    def __init__(self) -> None:
        self._due: list[tuple[float, int, Attempt]] = []
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._count = 0

    def watch(self, at: float, attempt: Attempt) -> None:
        with self._wake:
            self._count += 1
            heapq.heappush(self._due, (at, self._count, attempt))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="fetch-watchdog")
                self._thread.daemon = True
                self._thread.start()
            elif self._due[0][2] is attempt:
                self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._due or self._due[0][0] > time.monotonic():
                    wait = self._due[0][0] - time.monotonic() if self._due else None
                    self._wake.wait(wait)
                _, _, attempt = heapq.heappop(self._due)
            attempt.expire()  # outside the lock: it may block briefly on the socket shutdown

    def _after_fork(self) -> None:
        self._wake = threading.Condition()
        self._due, self._thread = [], None


_WATCHDOG = _Watchdog()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_WATCHDOG._after_fork)


_CURRENT: contextvars.ContextVar[Attempt | None] = contextvars.ContextVar(
    "newswatch_fetch_attempt", default=None
)


class _GuardedConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        attempt = _CURRENT.get()
        if attempt is not None:
            try:
                attempt.admit_peer(sock)
            except BaseException:
                sock.close()
                raise
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        attempt = _CURRENT.get()
        if attempt is not None and self.sock is not None:
            # A pooled connection may have been opened under other rules; for HTTPS this is
            # also where the TLS socket (the one to cut at the deadline) is first seen.
            attempt.admit_peer(self.sock)
        super().request(*args, **kwargs)


class _GuardedTLSConnection(_GuardedConnection, HTTPSConnection):
    pass


class _GuardedPool(HTTPConnectionPool):
    ConnectionCls = _GuardedConnection


class _GuardedTLSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedTLSConnection


class GuardedPoolManager(urllib3.PoolManager):
    """urllib3 connection pools whose connections check their peer against the running Attempt.

    Used directly, not through a requests Session: a conditional GET answered 304 costs a third
    of the CPU that way (0.29 vs 0.87 ms measured here), which is most of an idle cycle. It reads
    no proxy or .netrc settings (the peer check needs a direct connection), keeps no cookies
    between requests, and never follows a redirect itself (Fetcher does, checking every hop).
    TLS is verified against requests' CA bundle (certifi) unless ``ca_file`` names another.
    """

    def __init__(self, ca_file: str | None = None) -> None:
        super().__init__(
            num_pools=32,
            maxsize=10,
            cert_reqs="CERT_REQUIRED",
            ca_certs=ca_file or DEFAULT_CA_BUNDLE_PATH,
        )
        self.pool_classes_by_scheme = {"http": _GuardedPool, "https": _GuardedTLSPool}
