"""Local chat-webhook and SMTP servers that record the alerts apprise delivers, for demo and tests.

Apprise URL forms measured with apprise 2.0.1 against these servers (both deliver, no TLS, no auth):

- ``json://127.0.0.1:PORT/``: POST application/json ``{"version", "title", "message",
  "attachments", "type"}``; the body arrives exactly as given (Markdown stays Markdown).
- ``form://127.0.0.1:PORT/``: POST application/x-www-form-urlencoded with the same fields.
- ``xml://127.0.0.1:PORT/``: POST a SOAP envelope with Subject, Message and MessageType.
- ``mailto://127.0.0.1:PORT?from=newswatch@example.org&to=desk@example.org``: plain SMTP on a
  non-standard port; apprise sends multipart/alternative (text/plain derived from the HTML, and
  text/html). ``mailto://127.0.0.1:PORT/desk@example.org?from=...`` also works; several ``to``
  addresses give one message each. ``?from=Name%20%3Caddr%3E`` sets a display name.

Forms that do NOT work here: ``mailto://user@127.0.0.1:PORT?to=...`` (apprise rejects a user
without a password), ``mailtos://`` and ``mode=starttls`` (the receiver speaks no TLS).
"""

from __future__ import annotations

import email
import json
import logging
import threading
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote

import defusedxml.ElementTree as SafeET
from aiosmtpd.controller import Controller

from newswatch.demo.serving import POLL as POLL  # kept importable from here, where it was defined
from newswatch.demo.serving import ServerThread, Service

Message = dict[str, Any]
OnMessage = Callable[[Message], None]
MAX_POST = 2_000_000  # a local test receiver has no business accepting more

log = logging.getLogger(__name__)


class _Recorder:
    """Thread-safe message list with a refusal counter and a wait that needs no sleeps."""

    def __init__(self, on_message: OnMessage | None) -> None:
        self._on_message = on_message
        self._messages: list[Message] = []
        self._refuse = 0
        self.refused = 0
        self._cond = threading.Condition()

    @property
    def messages(self) -> list[Message]:
        with self._cond:
            return list(self._messages)

    def refuse(self, count: int = 1) -> None:
        """Fail the next `count` deliveries, as a broken channel would."""
        with self._cond:
            self._refuse = max(0, count)

    def clear(self) -> None:
        with self._cond:
            self._messages.clear()

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        """Block until at least `count` messages arrived; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._messages) >= count, timeout)

    def take_refusal(self) -> bool:
        with self._cond:
            if self._refuse <= 0:
                return False
            self._refuse -= 1
            self.refused += 1
            return True

    def record(self, message: Message) -> None:
        with self._cond:
            self._messages.append(message)
            self._cond.notify_all()
        if self._on_message is not None:
            try:
                self._on_message(message)
            except Exception:  # a printing callback must not turn a delivery into a failure
                log.exception("on_message callback failed")


class WebhookReceiver(_Recorder, Service[ServerThread]):
    """Accepts apprise ``json://``, ``form://`` and ``xml://`` posts, and raw bodies.

    Each post becomes ``{"title", "body", "message", "type", "format", "raw", "path",
    "content_type"}``: ``body`` and ``message`` are the same text; ``format`` is how the post
    was encoded ("json", "form", "xml" or "raw"); ``raw`` is the request body as text.
    """

    _name = "the webhook receiver"

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, on_message: OnMessage | None = None
    ) -> None:
        super().__init__(on_message)
        self._address = (host, port)

    def _launch(self) -> ServerThread:
        server = _HookServer(self._address, _HookHandler)
        server.receiver = self
        return ServerThread(server, "webhook")

    @property
    def address(self) -> tuple[str, int]:
        return self._running().address

    @property
    def url(self) -> str:
        """The apprise URL that posts JSON here."""
        host, port = self.address
        return f"json://{host}:{port}/"

    @property
    def http_url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}/"


class _HookServer(ThreadingHTTPServer):
    daemon_threads = True
    receiver: WebhookReceiver


class _HookHandler(BaseHTTPRequestHandler):
    server: _HookServer
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = self.headers.get("Content-Length", "")
        if not length.isdigit() or int(length) > MAX_POST:
            self._reply(413 if length.isdigit() else 411, "length required, at most 2 MB")
            return
        data = self.rfile.read(int(length))
        receiver = self.server.receiver
        if receiver.take_refusal():
            self._reply(500, "refused on purpose")
            return
        content_type = self.headers.get("Content-Type", "")
        message = decode_post(data, content_type)
        receiver.record({**message, "path": self.path, "content_type": content_type})
        self._reply(200, "ok")

    do_PUT = do_POST

    def _reply(self, status: int, text: str) -> None:
        body = (text + "\n").encode()
        if status in (411, 413):
            self.close_connection = True  # the unread request body would poison keep-alive
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the demo prints the messages themselves."""


def decode_post(data: bytes, content_type: str) -> Message:
    """Read an apprise post (JSON, form or XML); anything else is kept as a raw body."""
    raw = data.decode("utf-8", errors="replace")
    kind = content_type.split(";", 1)[0].strip().lower()
    fields: dict[str, Any] = {}
    fmt = "raw"
    try:
        if kind == "application/json":
            parsed = json.loads(raw)
            fields, fmt = (parsed, "json") if isinstance(parsed, dict) else ({}, "raw")
        elif kind == "application/x-www-form-urlencoded":
            fields = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
            fmt = "form"
        elif kind in ("application/xml", "text/xml"):
            fields, fmt = _xml_fields(data), "xml"
    except (ValueError, SafeET.ParseError):
        fields, fmt = {}, "raw"
    body = fields.get("message", fields.get("body", raw if fmt == "raw" else ""))
    return {
        "title": str(fields.get("title", "")),
        "body": str(body),
        "message": str(body),
        "type": str(fields.get("type", "")),
        "format": fmt,
        "raw": raw,
    }


def _xml_fields(data: bytes) -> dict[str, str]:
    """The apprise XML envelope's Subject/Message/MessageType, whatever their namespaces."""
    names = {"Subject": "title", "Message": "message", "MessageType": "type"}
    fields: dict[str, str] = {}
    for element in SafeET.fromstring(data).iter():
        local = str(element.tag).rsplit("}", 1)[-1]
        if local in names:
            fields[names[local]] = element.text or ""
    return fields


class _Controller(Controller):
    """aiosmtpd's controller, taught to work with port 0 (it probes its own port on start)."""

    def _trigger_server(self) -> None:
        sockets = getattr(self.server, "sockets", None)  # asyncio.Server, typed as AbstractServer
        if sockets:
            self.port = sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class _SmtpHandler:
    def __init__(self, receiver: SmtpReceiver) -> None:
        self.receiver = receiver

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        if self.receiver.take_refusal():
            return "451 4.3.0 refused on purpose"
        self.receiver.record(parse_mail(envelope.content, envelope.mail_from, envelope.rcpt_tos))
        return "250 OK"


def parse_mail(content: bytes | str, mail_from: str | None, rcpt_tos: list[str]) -> Message:
    """One received mail as ``{"from", "to", "subject", "text", "html", "raw"}``."""
    raw = content if isinstance(content, bytes) else content.encode("utf-8", errors="replace")
    mail = email.message_from_bytes(raw, policy=policy.default)
    text = html = ""
    if isinstance(mail, EmailMessage):
        for part in mail.walk():
            kind = part.get_content_type()
            if kind in ("text/plain", "text/html") and not part.is_multipart():
                value = str(part.get_content())
                text, html = (value, html) if kind == "text/plain" else (text, value)
    return {
        "from": str(mail.get("From", mail_from or "")),
        "envelope_from": mail_from or "",
        "to": list(rcpt_tos),
        "subject": str(mail.get("Subject", "")),
        "text": text,
        "html": html,
        "raw": raw.decode("utf-8", errors="replace"),
    }


class SmtpReceiver(_Recorder, Service[_Controller]):
    """A local SMTP server (aiosmtpd, no TLS, no auth) recording every message it accepts."""

    _name = "the SMTP receiver"

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, on_message: OnMessage | None = None
    ) -> None:
        super().__init__(on_message)
        self._host = host
        self._port = port

    def _launch(self) -> _Controller:
        controller = _Controller(
            _SmtpHandler(self), hostname=self._host, port=self._port, data_size_limit=MAX_POST
        )
        controller.start()
        return controller

    @property
    def address(self) -> tuple[str, int]:
        return self._host, int(self._running().port)

    def apprise_url(
        self, to: str = "desk@example.org", sender: str = "newswatch@example.org"
    ) -> str:
        """The apprise ``mailto://`` URL that delivers here without TLS or login."""
        host, port = self.address
        return f"mailto://{host}:{port}?from={quote(sender, safe='@')}&to={quote(to, safe='@,')}"
