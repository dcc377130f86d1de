"""The output capture: print() and logging become log lines, in linear time, progress bars collapsed."""

from __future__ import annotations

import logging
import sys
import threading
import time
import tracemalloc

from maggy.reporter import MAX_LINE_CHARS, Reporter
from maggy.worker.capture import captured_output


def capture(write) -> list[str]:  # type: ignore[no-untyped-def]
    r = Reporter()
    r.reset(1)
    with captured_output(r):
        write()
    r.seal()
    return r.drain()[2]


def test_print_stderr_and_logging_become_lines():
    def write() -> None:
        print("hello", "world")
        print("no newline yet", end="")
        sys.stdout.flush()  # a flush does not end the line
        print(" ... now")
        print("oops", file=sys.stderr)
        logging.getLogger("mine").warning("two\nlines")
        print("unfinished", end="")  # handed on when the trial ends

    assert capture(write) == [
        "hello world",
        "no newline yet ... now",
        "[stderr] oops",
        "WARNING mine: two",
        "lines",
        "unfinished",
    ]


def test_carriage_return_progress_collapses_to_its_last_state():
    def write() -> None:
        for i in range(1, 4):
            sys.stdout.write(f"\r{i}/3")
            sys.stdout.flush()
        sys.stdout.write("\n")
        sys.stdout.write("windows line\r")
        sys.stdout.write("\n")  # "\r\n" across two writes is still a newline
        sys.stdout.write("a\rb\r\rc\n")
        sys.stdout.write("cleared    \r   \rlast\r")  # tqdm(leave=False)-style clearing, then text

    assert capture(write) == ["3/3", "windows line", "c", "last"]


def test_progress_updates_cost_linear_time():
    # Each write used to copy the whole unfinished line: 20k updates took 14.5 s.
    def write() -> None:
        for i in range(1, 20_001):
            sys.stdout.write(f"\r{i:>6}/20000 |{'#' * (i * 50 // 20_000):<50}| {i / 200:.1f} it/s")
        sys.stdout.write("\n")

    started = time.perf_counter()
    lines = capture(write)
    elapsed = time.perf_counter() - started
    assert lines == [f" 20000/20000 |{'#' * 50}| 100.0 it/s"]
    assert elapsed < 1.5, f"20k progress updates took {elapsed:.2f} s"


def test_a_long_line_without_newline_is_cut_as_it_comes_memory_stays_bounded():
    chunk = "L" * 65_536

    def write() -> None:
        for _ in range(140):  # 9.2 MB on one line
            sys.stdout.write(chunk)
        sys.stdout.write("\nafter\n")

    tracemalloc.start()
    try:
        lines = capture(write)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lines[1] == "after"
    assert lines[0].startswith("L" * MAX_LINE_CHARS) and lines[0].endswith(" ... [8.9 MB cut]")
    assert peak < 4 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB while capturing a 9 MB line"


def test_prints_from_several_threads_stay_whole_lines():
    def write() -> None:
        def worker(n: int) -> None:
            for i in range(500):
                print(f"thread {n} line {i}")

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    lines = capture(write)
    assert sorted(lines) == sorted(f"thread {n} line {i}" for n in range(4) for i in range(500))
