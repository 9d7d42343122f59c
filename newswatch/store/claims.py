"""Who holds an outbox claim, and whether that process is gone.

A claim names its holder as ``host:pid:start`` (start: the process's start time in clock ticks
since boot, read from /proc, so a reused pid is not mistaken for the holder). On the same host a
later run sees at once that the holder is gone and takes its rows; a holder on another host is
trusted until its short lease runs out, which it renews while it works.
"""

from __future__ import annotations

import os
import socket
from functools import lru_cache

from newswatch.processes import pid_alive


def _start_ticks(pid: int) -> str | None:
    """The process's start time from /proc (Linux); None where there is no /proc or no pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count from its closing one.
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


@lru_cache(maxsize=4)
def _identity(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid) or ''}"


def this_holder() -> str:
    """This process as a claim holder (recomputed after a fork: the pid is part of the key)."""
    return _identity(os.getpid())


def holder_gone(holder: str) -> bool:
    """True when `holder` ran on this host and that process no longer exists."""
    parts = holder.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False  # another host (or an unknown form): its lease decides
    pid, start = int(parts[1]), parts[2]
    if pid == os.getpid():
        return False
    if not pid_alive(pid):
        return True
    now = _start_ticks(pid)
    return bool(start and now and now != start)  # the pid now belongs to another process
