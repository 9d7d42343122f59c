"""A scripted HTTP/1.1 server on 127.0.0.1 for tests: replies per path and a log of what arrived."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    path: str  # path and query, as sent on the request line
    headers: dict[str, str]  # names lower-cased
    body: bytes
    arrived: float  # time.monotonic() once the request line and headers were read
    peer_port: int = 0  # the client's port: requests on one kept-alive connection share it

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class Reply:
    """What to answer. Waits use the server's stop event, so closing the server releases them."""

    status: int = 200
    body: bytes = b""
    headers: Sequence[tuple[str, str]] = ()
    chunked: bool = False  # Transfer-Encoding: chunked instead of Content-Length
    content_length: bool = True  # False (and not chunked): the body ends when the connection closes
    piece: int = 65536  # the body is written in pieces of this many bytes
    pause: float = 0.0  # seconds between two pieces (slow-drip servers)
    stall: float = 0.0  # seconds to wait before the status line (slow servers)
    raw: bytes | None = None  # sent as is instead of all the above, then the connection closes


Handler = Callable[[Seen], Reply]


@dataclass
class _Route:
    replies: list[Reply] | None = None
    handler: Handler | None = None
    served: int = 0

    def next_reply(self, seen: Seen) -> Reply:
        if self.handler is not None:
            return self.handler(seen)
        assert self.replies
        reply = self.replies[min(self.served, len(self.replies) - 1)]
        self.served += 1
        return reply


@dataclass
class _State:
    routes: dict[str, _Route] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)


class LocalHTTPServer:
    """Serves scripted replies on 127.0.0.1:<free port> from a background thread.

    With ``tls`` (a server-side SSLContext) it speaks HTTPS.
    ``route(path, ...)`` takes one Reply, a list of replies given in turn (the last one repeats),
    or a function of the request. Unknown paths answer 404. ``seen()`` lists what arrived.
    """

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self._state = _State()
        self._httpd = _Server((host, 0), _Handler)
        self._httpd.state = self._state
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self.host = host
        self.port: int = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base + path

    def route(self, path: str, reply: Reply | Sequence[Reply] | Handler) -> None:
        if isinstance(reply, Reply):
            entry = _Route(replies=[reply])
        elif callable(reply):
            entry = _Route(handler=reply)
        else:
            entry = _Route(replies=list(reply))
        with self._state.lock:
            self._state.routes[path] = entry

    def seen(self, path: str | None = None) -> list[Seen]:
        """Requests received so far, oldest first; only those for ``path`` when given."""
        with self._state.lock:
            return [s for s in self._state.seen if path is None or s.path == path]

    def close(self) -> None:
        self._state.stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LocalHTTPServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: _State


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_GET

    def log_message(self, format: str, *args: object) -> None:
        """Silenced: pytest output should show test results, not access logs."""

    def _serve(self) -> None:
        state = self.server.state
        arrived = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        seen = Seen(self.command, self.path, headers, body, arrived, self.client_address[1])
        with state.lock:
            state.seen.append(seen)
            route = state.routes.get(self.path) or state.routes.get(urlsplit(self.path).path)
            reply = route.next_reply(seen) if route else Reply(404, b"not found")
        try:
            self._send(reply)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send(self, reply: Reply) -> None:
        if reply.stall and self.server.state.stop.wait(reply.stall):
            self.close_connection = True
            return
        if reply.raw is not None:
            self.wfile.write(reply.raw)
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        if reply.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif reply.content_length:
            self.send_header("Content-Length", str(len(reply.body)))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self._send_body(reply)

    def _send_body(self, reply: Reply) -> None:
        step = max(1, reply.piece)
        for start in range(0, len(reply.body), step):
            if start and reply.pause and self.server.state.stop.wait(reply.pause):
                self.close_connection = True
                return
            piece = reply.body[start : start + step]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if reply.chunked else piece)
            self.wfile.flush()
        if reply.chunked:
            self.wfile.write(b"0\r\n\r\n")
