"""Start/stop plumbing the demo's local servers share: run state, `with`, a threaded HTTP server."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar

POLL = 0.1  # seconds; how soon stop() takes effect (the default 0.5 s makes tests crawl)


class _Stoppable(Protocol):
    def stop(self) -> None: ...


_H = TypeVar("_H", bound=_Stoppable)


class Service(ABC, Generic[_H]):
    """A local server run by ``start()`` until ``stop()``, or for the length of a ``with``.

    A subclass names itself in ``_name`` (for error messages) and starts serving in
    ``_launch()``, returning the handle that ``stop()`` later stops.
    """

    _name: str
    _handle: _H | None = None

    @abstractmethod
    def _launch(self) -> _H: ...

    def start(self) -> Self:
        if self._handle is not None:
            raise RuntimeError(f"{self._name} is already running")
        self._handle = self._launch()
        return self

    def stop(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.stop()

    def _running(self) -> _H:
        """The handle of the running server; RuntimeError before ``start()``."""
        if self._handle is None:
            raise RuntimeError(f"{self._name} is not running: call start() first")
        return self._handle

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class ServerThread:
    """``server`` answering requests from a daemon thread named ``name``, from construction on."""

    def __init__(self, server: ThreadingHTTPServer, name: str) -> None:
        self.server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(POLL,), name=name, daemon=True
        )
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.server_address[:2]
        return str(host), int(port)

    def stop(self) -> None:
        """Stop serving, close the socket and wait for the thread to end."""
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()
