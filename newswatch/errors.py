"""The one exception tree of newswatch, so callers decide by type, never by message.

NewswatchError
├── UsageError             bad command-line use or flow parameters: the CLI exits 2
├── ConfigError            bad config: file, key and problem; the CLI exits 2
│   └── DurationError          a bad duration (also a ValueError, for argparse ``type=``)
├── FetchError             anything that stopped a fetch
│   ├── TransientFetchError    timeouts, connection resets, 429, 5xx: worth retrying later
│   │   └── DeadlineExceeded       the attempt outran its overall deadline (slow-drip server)
│   │       └── BudgetSpent                the source's `budget` for this cycle ran out
│   ├── PermanentFetchError    4xx, bad content type, response too large: retrying will not help
│   └── BlockedFetchError      refused by us: robots.txt, private address, scheme not http(s)
├── ParseError             a document we could not read (malformed feed, not a sitemap, ...)
├── StoreError             the store could not be opened, migrated, read or written
└── DeliveryError          a channel refused or failed a message (raised by a sender)
"""

from __future__ import annotations


class NewswatchError(Exception):
    """Base of every error newswatch raises on purpose."""


class UsageError(NewswatchError):
    """Bad command-line usage or flow parameters (exit 2): an unknown name, an empty window."""


class ConfigError(NewswatchError):
    """The configuration is invalid; the message names the file, the key and what is wrong."""

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None) -> None:
        self.path = path
        self.key = key
        self.problem = message
        where = ": ".join(p for p in (path, key) if p)
        super().__init__(f"{where}: {message}" if where else message)


class DurationError(ConfigError, ValueError):
    """A bad duration: a ConfigError for the CLI (exit 2), a ValueError for argparse ``type=``."""


class FetchError(NewswatchError):
    """A fetch did not produce a usable response."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None) -> None:
        self.url = url
        self.status = status
        super().__init__(f"{url}: {message}" if url else message)


class TransientFetchError(FetchError):
    """Worth retrying: timeouts, connection errors, 429 and 5xx.

    ``retry_after`` is the delay in seconds the server asked for, when it asked.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, url=url, status=status)
        self.retry_after = retry_after


class DeadlineExceeded(TransientFetchError):
    """The attempt outran its overall deadline (slow-drip server); not worth an immediate retry."""


class BudgetSpent(DeadlineExceeded):
    """The source's `budget` for this cycle is spent: what is left waits for the next cycle."""


class PermanentFetchError(FetchError):
    """Retrying will not help: 4xx (except 429), unsupported content, response over max_bytes."""


class BlockedFetchError(FetchError):
    """We refused to fetch: robots.txt, a private or reserved address, a non-http(s) scheme."""


class ParseError(NewswatchError):
    """A document could not be parsed; the message says what and where."""


class StoreError(NewswatchError):
    """The store could not be opened, migrated, read or written; the message names the store."""


class DeliveryError(NewswatchError):
    """A channel did not accept a message."""
