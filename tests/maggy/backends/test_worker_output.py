"""What local worker processes write outside trials: piped, attributed to its worker, bounded."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from maggy import Searchspace, experiment
from maggy.backends import worker_output
from maggy.backends.worker_output import OutputPipe
from maggy.core import events as ev


def _collect() -> tuple[list[tuple[str, list[str]]], threading.Lock]:
    return [], threading.Lock()


def run_child(pipe: OutputPipe, code: str) -> None:
    child = subprocess.Popen([sys.executable, "-c", code], stdout=pipe.write_fd, stderr=pipe.write_fd)
    pipe.started()
    child.wait(timeout=30)
    pipe.join(timeout=10)


def test_lines_reach_the_sink_with_their_worker_and_a_tail_is_kept() -> None:
    got: list[tuple[str, list[str]]] = []
    pipe = OutputPipe("local-3", lambda wid, lines: got.append((wid, lines)))
    run_child(pipe, "import os, sys; print('to stdout'); os.write(2, b'native warning\\r\\nno newline')")
    lines = [line for wid, batch in got for line in batch]
    assert {wid for wid, _ in got} == {"local-3"}
    assert lines == ["to stdout", "native warning", "no newline"]
    assert pipe.tail() == lines


def test_a_flood_is_cut_to_its_limits_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_output, "MAX_LINES", 100)
    got: list[str] = []
    pipe = OutputPipe("local-0", lambda wid, lines: got.extend(lines))
    run_child(pipe, "import sys\nfor i in range(1000): print(i)\nprint('x' * 50000)")  # any chunking
    assert got[:100] == [str(i) for i in range(100)]
    assert got[-1] == "... 901 more lines from worker local-0 were not kept"
    assert len(got) == 101
    assert pipe.tail()[-1] == "x" * 10_000 + "... [40000 bytes cut]"  # the tail keeps the latest, cut


def test_a_sink_that_raises_does_not_stop_the_reading() -> None:
    seen: list[str] = []

    def sink(wid: str, lines: list[str]) -> None:
        seen.extend(lines)
        raise RuntimeError("a broken listener")

    pipe = OutputPipe("local-1", sink)
    run_child(pipe, "import time\nprint('a', flush=True)\ntime.sleep(0.2)\nprint('b')")
    assert seen == ["a", "b"]


def native_noise(x):
    os.write(2, b"I0000 some_library.cc:42] native start-up chatter\n")  # not print(): fd 2 itself
    print("a trial's own print")
    return x


@pytest.mark.integration
def test_lagom_turns_worker_output_into_events_and_prints_them_marked_without_a_frontend(
    tmp_path, capfd: pytest.CaptureFixture[str]
) -> None:
    events: list[ev.WorkerOutput] = []
    result = experiment.lagom(
        native_noise,
        searchspace=Searchspace(x=("DOUBLE", [0, 1])),
        num_trials=2,
        num_workers=1,
        store=str(tmp_path / "s.db"),
        progress=False,
        listeners=[lambda e: events.append(e) if isinstance(e, ev.WorkerOutput) else None],
    )
    assert result["status"] == "FINISHED"
    lines = [line for e in events for line in e.lines]
    assert lines.count("I0000 some_library.cc:42] native start-up chatter") == 2
    assert {e.worker_id for e in events} == {"local-0"}
    assert "a trial's own print" not in lines  # that one is the trial's log
    err = capfd.readouterr().err
    assert "[local-0] I0000 some_library.cc:42] native start-up chatter" in err


def test_a_long_line_written_in_pieces_is_cut_the_same_way() -> None:
    got: list[str] = []
    pipe = OutputPipe("local-0", lambda wid, lines: got.extend(lines))
    code = "import sys, time\nfor _ in range(50):\n    sys.stdout.write('x' * 1000); sys.stdout.flush(); time.sleep(0.001)\nprint()\nprint('next')"
    run_child(pipe, code)
    assert got == ["x" * 10_000 + "... [40000 bytes cut]", "next"]
