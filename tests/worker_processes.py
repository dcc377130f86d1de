"""Finding the maggy worker processes a test started, by an environment marker it set.

A worker is a process whose command line names ``maggy.worker`` (a fresh ``python -m
maggy.worker``, or a worker forked by ``python -m maggy.worker.forkserver``, whose command line it
inherits) and whose initial environment holds the marker. A fork server itself is not a worker:
it is told apart by having no worker as its parent. Zombies have an empty environment and
command line, so they are not counted: they no longer run.
"""

from __future__ import annotations

import os
from pathlib import Path


def _stat_ppid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def worker_pids(env_entry: bytes) -> list[int]:
    """Pids of live maggy workers whose initial environment has ``env_entry`` (``b"NAME=value"``)."""
    candidates: dict[int, bytes] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if env_entry in environ and b"maggy.worker" in cmdline:
            candidates[int(entry)] = cmdline
    workers = []
    for pid, cmdline in candidates.items():
        try:
            forked_by_server = _stat_ppid(pid) in candidates
        except (OSError, IndexError, ValueError):
            continue
        if b"maggy.worker.forkserver" in cmdline and not forked_by_server:
            continue  # the fork server, not a worker
        workers.append(pid)
    return workers
