"""The worker side: one long-lived loop per worker slot (a local process or a Spark task)."""

from maggy.worker.loop import run_worker

__all__ = ["run_worker"]
