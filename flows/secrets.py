"""Channel secrets from Prefect Secret blocks: the resolver the CLI and the flows hand in."""

from __future__ import annotations

from typing import Any, cast


def prefect_secret(name: str) -> str:
    """The string a Secret block holds; LookupError (naming no value) when there is none."""
    from prefect.blocks.system import Secret
    from prefect.settings import get_current_settings

    api = get_current_settings().api.url
    if not api:
        raise LookupError("no Prefect server: set PREFECT_API_URL to the one that holds it")
    try:
        block = cast("Secret[Any]", Secret.load(name))  # sync here; typed as maybe-a-coroutine
        value = block.get()
    except ValueError:
        raise LookupError(f"no Secret block of that name on {api}") from None
    except Exception as exc:  # the server unreachable or refusing: say so, never the value
        raise LookupError(f"cannot read it from {api}: {exc.__class__.__name__}") from None
    if not isinstance(value, str) or not value:
        raise LookupError(f"it holds {type(value).__name__}, not a non-empty string")
    return value
