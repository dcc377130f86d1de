"""maggy._threads.join_if_started: a shutdown can join a thread whatever point its start reached."""

from __future__ import annotations

import threading

import pytest

from maggy._threads import join_if_started


def test_a_thread_never_started_is_skipped() -> None:
    thread = threading.Thread(target=lambda: None)
    join_if_started(thread, timeout=0.1)  # "cannot join thread before it is started" on join()
    join_if_started(None)
    assert not thread.is_alive() and thread.ident is None


def test_a_started_thread_is_joined() -> None:
    release = threading.Event()
    thread = threading.Thread(target=release.wait, daemon=True)
    thread.start()
    join_if_started(thread, timeout=0.05)
    assert thread.is_alive()  # the timeout bounds the wait
    release.set()
    join_if_started(thread, timeout=5)
    assert not thread.is_alive()


def test_joining_the_current_thread_is_still_an_error() -> None:
    with pytest.raises(RuntimeError, match="current thread"):
        join_if_started(threading.current_thread(), timeout=0.1)
