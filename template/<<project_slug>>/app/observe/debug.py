"""Debug tools of the admin port: every stack now, and a sampling profiler of all threads.

Both read `sys._current_frames()`, CPython's documented (if underscored) way to see other threads'
frames; neither needs a profiler installed in advance, so they work on a process already in trouble.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from types import FrameType

MAX_THREADS = 200
MAX_TASKS = 500
MAX_FRAMES = 40
MAX_PROFILE_SECONDS = 30.0
PROFILE_INTERVAL_SECONDS = 0.005


def _frame_lines(frames: Iterator[FrameType] | list[FrameType]) -> list[str]:
    summary = traceback.StackSummary.extract(((f, f.f_lineno) for f in frames), limit=MAX_FRAMES)
    return [line.rstrip("\n") for line in summary.format()]


def _walk(frame: FrameType | None) -> list[FrameType]:
    """Innermost-last, like a traceback."""
    frames: list[FrameType] = []
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    return frames[::-1]


def format_stacks() -> str:
    """Threads, then asyncio tasks of the running loop; each list and each stack is capped."""
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    frames = sys._current_frames()
    out = [f"# threads: {len(frames)} (showing at most {MAX_THREADS})"]
    for ident, frame in list(frames.items())[:MAX_THREADS]:
        out.append(f"\n--- thread {names.get(ident, '?')} ({ident})")
        out.extend(_frame_lines(_walk(frame)[-MAX_FRAMES:]))
    try:
        tasks = list(asyncio.all_tasks())
    except RuntimeError:
        tasks = []
    out.append(f"\n# asyncio tasks: {len(tasks)} (showing at most {MAX_TASKS})")
    for task in tasks[:MAX_TASKS]:
        out.append(f"\n--- task {task.get_name()} {task.get_coro()!r}")
        out.extend(_frame_lines(task.get_stack(limit=MAX_FRAMES)))
    return "\n".join(out) + "\n"


def _frame_label(frame: FrameType) -> str:
    return f"{frame.f_globals.get('__name__', '?')}:{frame.f_code.co_name}"


def sample_profile(
    seconds: float, interval: float = PROFILE_INTERVAL_SECONDS, stop: Callable[[], bool] = lambda: False
) -> str:
    """Sample every other thread's stack each `interval` for `seconds`; return collapsed stacks.

    One line per distinct stack, `thread;outer;...;inner count`, most frequent first: the format
    flamegraph.pl, speedscope and inferno read. Sampling costs the sampled threads nothing but the GIL.
    `stop` ends it early (the process is shutting down: a profile must not hold the exit up).
    """
    me = threading.get_ident()
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    counts: Counter[str] = Counter()
    samples = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not stop():
        for ident, frame in sys._current_frames().items():
            if ident == me:
                continue
            stack = ";".join(_frame_label(f) for f in _walk(frame)[-MAX_FRAMES * 2 :])
            counts[f"{names.get(ident, ident)};{stack}"] += 1
        samples += 1
        time.sleep(interval)
    header = f"# samples={samples} interval_ms={interval * 1000:g} seconds={seconds:g}\n"
    return header + "".join(f"{stack} {count}\n" for stack, count in counts.most_common())
