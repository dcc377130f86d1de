"""The reporter's contract: points and lines in order, none lost, stop raises after recording; output
over the limits is cut visibly, and no frame it fills exceeds the wire's limit."""

from __future__ import annotations

import json
import threading

import pytest

from maggy.exceptions import EarlyStopException
from maggy.reporter import (
    FRAME_BUDGET,
    LINE_OVERHEAD,
    MAX_LINE_CHARS,
    MAX_TRIAL_OUTPUT_CHARS,
    OUTPUT_TAIL_CHARS,
    Reporter,
    clip_text,
    human_size,
    json_size,
    split_output,
)
from maggy.rpc import messages as m
from maggy.rpc.framing import DEFAULT_MAX_FRAME, encode_frame
from maggy.worker.loop import ERROR_BUDGET


def test_steps_auto_increment_and_drain_takes_everything_once():
    r = Reporter()
    r.reset(7)
    r.broadcast(0.5)
    r.broadcast(0.6)
    r.broadcast(0.7, step=10)
    r.broadcast(0.8)
    r.log("a\nb")
    assert r.drain() == (7, [[0, 0.5], [1, 0.6], [10, 0.7], [11, 0.8]], ["a", "b"])
    assert r.drain() == (7, [], [])


@pytest.mark.parametrize("bad", ["1", None, True, [1]])
def test_non_numeric_metric_is_a_type_error(bad):
    with pytest.raises(TypeError, match="must be a number"):
        Reporter().broadcast(bad)


def test_nan_metric_and_decreasing_step_are_value_errors():
    r = Reporter()
    with pytest.raises(ValueError, match="finite"):
        r.broadcast(float("nan"))
    r.broadcast(1.0, step=5)
    with pytest.raises(ValueError, match="must not decrease"):
        r.broadcast(1.0, step=4)


def test_stop_request_raises_on_the_next_broadcast_after_recording_the_point():
    r = Reporter()
    r.reset(3)
    r.request_stop_for(99)  # another trial: ignored
    r.broadcast(1.0)
    r.request_stop_for(3)
    with pytest.raises(EarlyStopException) as info:
        r.broadcast(2.0)
    assert info.value.metric == 2.0
    assert r.drain()[1] == [[0, 1.0], [1, 2.0]]


def test_concurrent_broadcast_and_drain_lose_no_point():
    r = Reporter()
    r.reset(1)
    collected: list = []
    stop = threading.Event()

    def drainer():
        while not stop.is_set():
            collected.extend(r.drain()[1])
        collected.extend(r.drain()[1])

    t = threading.Thread(target=drainer)
    t.start()
    for i in range(20000):
        r.broadcast(float(i))
    stop.set()
    t.join()
    assert [p[0] for p in collected] == list(range(20000))


# --- output limits: nothing over a frame, nothing lost silently, nothing reordered -----------------


def test_split_output_reads_like_a_terminal():
    assert split_output("a\nb") == ["a", "b"]
    assert split_output("a\n") == ["a"] and split_output("") == [""] and split_output("\n") == [""]
    assert split_output("10%\r50%\r100%\nnext") == ["100%", "next"]
    assert split_output("done\r\n") == ["done"]  # \r\n is a plain newline
    assert split_output("kept\r\r\n") == ["kept"] and split_output("\rA\r") == ["A"]
    assert split_output("form\x0cfeed") == ["form\x0cfeed"]  # only \n ends a line


def test_a_huge_line_is_cut_visibly_saying_how_much():
    r = Reporter()
    r.reset(1)
    r.log("L" * 9_000_000)
    (line,) = r.drain()[2]
    assert line == "L" * MAX_LINE_CHARS + " ... [8.7 MB cut]"
    r.add_line("short", cut_bytes=2_500)  # the capture cut it already
    assert r.drain()[2] == ["short ... [2.5 kB cut]"]


def test_human_size():
    assert [human_size(n) for n in (0, 999, 1000, 9_100_000, 12 * 10**9)] == [
        "0 bytes",
        "999 bytes",
        "1.0 kB",
        "9.1 MB",
        "12.0 GB",
    ]


def test_lines_that_utf8_cannot_carry_are_escaped_not_fatal():
    r = Reporter()
    r.reset(1)
    r.log("bad \udcff byte")
    (line,) = r.drain()[2]
    assert line == "bad \\udcff byte"
    encode_frame(b"k" * 32, m.hb("w", 1, logs=[line]))  # the wire takes it


def test_a_runaway_trial_keeps_its_head_and_tail_and_one_line_saying_what_was_cut():
    r = Reporter()
    r.reset(1)
    line = "x" * (1024 - LINE_OVERHEAD)  # each line costs 1 KiB of the limits
    total = MAX_TRIAL_OUTPUT_CHARS // 1024 + 10_000
    for i in range(total):
        r.add_line(f"{i:08d}" + line[8:])
    _, _, head = r.drain()
    assert len(head) == MAX_TRIAL_OUTPUT_CHARS // 1024
    r.seal()
    _, _, rest = r.drain()
    marker, tail = rest[0], rest[1:]
    assert len(tail) == OUTPUT_TAIL_CHARS // 1024
    cut = total - len(head) - len(tail)
    cut_bytes = cut * (len(line) + 1)
    assert marker.startswith(f"[maggy] ... {cut:,} lines ({human_size(cut_bytes)}) of output cut here")
    numbers = [int(x[:8]) for x in head + tail]
    assert numbers == sorted(numbers) and numbers[-1] == total - 1  # in order, ending with the last


def test_a_flood_of_empty_lines_is_bounded_too():
    r = Reporter()
    r.reset(1)
    for _ in range(2 * MAX_TRIAL_OUTPUT_CHARS // LINE_OVERHEAD):
        r.add_line("")
    assert len(r.drain()[2]) == MAX_TRIAL_OUTPUT_CHARS // LINE_OVERHEAD


def test_no_cut_marker_when_the_tail_never_overflowed():
    r = Reporter()
    r.reset(1)
    r._kept_chars = MAX_TRIAL_OUTPUT_CHARS  # as if the head were full
    r.log("a\nb")
    assert r.drain()[2] == []  # held until the trial ends: only then is it known which lines are last
    r.seal()
    assert r.drain()[2] == ["a", "b"]


def _frames(r: Reporter, budget: int = FRAME_BUDGET) -> list[tuple[list, list]]:
    frames, more = [], True
    while more:
        _, points, logs, more = r.drain_frame(budget)
        frames.append((points, logs))
    return frames


def test_drain_frame_hands_out_everything_once_in_order_and_every_frame_fits_the_wire():
    r = Reporter()
    r.reset(4)
    hostile = "\x01" * MAX_LINE_CHARS  # 6 bytes per character in JSON: the worst line there is
    lines = [f"{i} " + ("\x01" * 1000 if i % 3 else "é" * 1000) for i in range(5000)] + [hostile] * 6
    for line in lines:
        r.add_line(line)
    for i in range(60_000):
        r.broadcast(-1.2345678901234567e-308 * (i + 1), step=i + 0.123456789012345)
    error = clip_text("Traceback\n" + "\x02" * 3_000_000, ERROR_BUDGET)
    frames = _frames(r, FRAME_BUDGET - json_size(error))
    assert len(frames) > 3
    assert [x for _, logs in frames for x in logs] == lines
    assert [p[0] for points, _ in frames for p in points] == [i + 0.123456789012345 for i in range(60_000)]
    for points, logs in frames:
        frame = encode_frame(b"k" * 32, m.final("local-12345", 4, "error", None, error, points, logs))
        assert len(frame) < DEFAULT_MAX_FRAME
    assert _frames(r) == [([], [])]  # a heartbeat goes out even with nothing to carry


def test_json_size_is_exact():
    for s in ["", "plain", 'quote " and \\ slash', "tab\there", "\x00\x1b[31m", "é€😀", "\u2028"]:
        assert json_size(s) == len(json.dumps(s, ensure_ascii=False).encode())


def test_clip_text_keeps_head_and_tail_around_a_visible_cut():
    text = "Traceback (most recent call last):\n" + "E" * 9_000_000 + "\nthe end"
    clipped = clip_text(text, ERROR_BUDGET)
    assert json_size(clipped) <= ERROR_BUDGET
    assert clipped.startswith("Traceback (most recent call last):\nEEE") and clipped.endswith("EEE\nthe end")
    assert "\n... [7." in clipped and " MB cut] ...\n" in clipped
    assert clip_text("short", 100) == "short"
    assert json_size(clip_text("\x01" * 100_000, 1000)) <= 1000


def test_huge_integral_steps_stay_floats_on_the_wire():
    r = Reporter()
    r.broadcast(1.0, step=1e300)
    assert r.drain()[1] == [[1e300, 1.0]]
