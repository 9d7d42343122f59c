"""Where test alerts land: a catch-all local HTTP receiver, a requests-layer capture for services
that cannot be pointed at loopback, and what a reader of each service family would see."""

from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import defusedxml.ElementTree as SafeET
import requests
from apprise.conversion.format import markdown_to_html
from bs4 import BeautifulSoup

# One reply that every step of every service accepts (a Matrix login, join and send included).
_REPLY = json.dumps(
    {
        "ok": True,
        "result": {"message_id": 1},
        "room_id": "!room:localhost",
        "event_id": "$event",
        "user_id": "@bot:localhost",
        "access_token": "token",
        "home_server": "localhost",
        "device_id": "DEVICE",
        "id": 1,
    }
).encode()


@dataclass(frozen=True)
class Request:
    method: str
    url: str  # the path for the local receiver, the whole URL for a captured request
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class CatchAll:
    """An HTTP server on 127.0.0.1 that records every request and answers 200 with `_REPLY`."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        seen = self.requests

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _record(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(size)
                headers = {k.lower(): v for k, v in self.headers.items()}
                seen.append(Request(self.command, self.path, headers, body))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(_REPLY)))
                self.end_headers()
                self.wfile.write(_REPLY)

            do_GET = do_POST = do_PUT = _record

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@contextmanager
def captured_http() -> Iterator[list[Request]]:
    """Every request apprise makes through `requests` is recorded and answered locally: nothing
    leaves the machine (the transport adapter's `send` is replaced for the duration)."""
    seen: list[Request] = []

    def send(adapter: Any, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        body = request.body or b""
        body = body.encode() if isinstance(body, str) else body
        seen.append(Request(str(request.method), str(request.url), dict(request.headers), body))
        response = requests.Response()
        response.status_code = 200
        # A Slack webhook answers the two letters "ok"; the others accept `_REPLY`.
        response._content = b"ok" if "hooks.slack.com" in str(request.url) else _REPLY
        response.headers["Content-Type"] = "application/json"
        response.request = request
        response.url = str(request.url)
        return response

    original = requests.adapters.HTTPAdapter.send
    requests.adapters.HTTPAdapter.send = send  # type: ignore[method-assign,assignment]
    try:
        yield seen
    finally:
        requests.adapters.HTTPAdapter.send = original  # type: ignore[method-assign]


# --- what the reader sees ----------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """A delivered message as its reader meets it: the visible text and the links in it."""

    title: str  # a separate title field ("" when the service has none)
    text: str  # the body as rendered on screen
    links: tuple[str, ...]  # targets of every live link the service would show
    raw: str  # the body exactly as sent


def read_text(title: str, body: str) -> Seen:
    return Seen(title, body, tuple(re.findall(r"https?://\S+", body)), body)


def read_html(title: str, body: str) -> Seen:
    soup = BeautifulSoup(body, "html.parser")
    links = tuple(str(a.get("href")) for a in soup.find_all("a"))
    for br in soup.find_all("br"):
        br.replace_with("\n")
    return Seen(title, soup.get_text(), links, body)


def read_commonmark(title: str, body: str) -> Seen:
    """Rendered as a CommonMark service would (apprise's Markdown renderer, every ASCII
    punctuation escapable); bare URLs count as links, as Discord and Mattermost make them."""
    seen = read_html(title, markdown_to_html(body))
    bare = re.findall(r"https?://[^\s<>]+", seen.text)
    return Seen(title, seen.text, seen.links + tuple(bare), body)


_SLACK_LINK = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")


def read_slack(title: str, body: str) -> Seen:
    """Slack mrkdwn: <target|label> is a link, mention or channel; entities show as characters;
    *bold* and _italic_ markers are not shown."""
    links = tuple(m.group(1) for m in _SLACK_LINK.finditer(body))
    text = _SLACK_LINK.sub(lambda m: m.group(2) or m.group(1), body)
    text = re.sub(r"(?<![\w*])\*(\S[^*\n]*?)\*(?![\w*])", r"\1", text)
    return Seen(html.unescape(title), html.unescape(text), links, body)


_MD_LINK = re.compile(r"\[([^\]]*)\]\(([^)]*)\)")


def read_teams(title: str, body: str) -> Seen:
    links = tuple(m.group(2) for m in _MD_LINK.finditer(body))
    text = _MD_LINK.sub(lambda m: m.group(1), body).replace("**", "")
    return Seen(title, text, links, body)


# --- where each service puts title and body ----------------------------------------------------


def from_json(r: Request) -> tuple[str, str]:
    data = r.json()
    return data.get("title", ""), data["message"]


def from_form(r: Request) -> tuple[str, str]:
    data = parse_qs(r.body.decode(), keep_blank_values=True)
    return data["title"][0], data["message"][0]


def from_xml(r: Request) -> tuple[str, str]:
    root = SafeET.fromstring(r.body)
    fields = {el.tag.rsplit("}", 1)[-1]: el.text or "" for el in root.iter()}
    return fields.get("Subject", ""), fields["Message"]


def from_text_key(key: str) -> Callable[[Request], tuple[str, str]]:
    def pick(r: Request) -> tuple[str, str]:
        data = r.json()
        return str(data.get("title", "")), str(data[key])

    return pick


def from_ntfy(r: Request) -> tuple[str, str]:
    data = r.json()
    return str(data.get("title", "")), str(data["message"])


def from_matrix(r: Request) -> tuple[str, str]:
    data = r.json()
    assert data.get("format") == "org.matrix.custom.html", data
    return "", str(data["formatted_body"])


def from_slack(r: Request) -> tuple[str, str]:
    attachment = r.json()["attachments"][0]
    return str(attachment.get("title", "")), str(attachment["text"])


def from_discord(r: Request) -> tuple[str, str]:
    data = r.json()
    assert "embeds" not in data
    return "", str(data["content"])


def from_telegram(r: Request) -> tuple[str, str]:
    data = r.json()
    assert data["parse_mode"] == "HTML", data
    return "", str(data["text"])


def from_teams(r: Request) -> tuple[str, str]:
    blocks = r.json()["attachments"][0]["content"]["body"]
    texts = {b.get("id"): b.get("text", "") for b in blocks}
    return str(texts.get("title", "")), str(texts["body"])
