"""JSON-lines events on stdout: how the worker process talks to the QGIS algorithm.

One JSON object per line: {"event": "progress", "fraction", "message"}, {"event": "log"},
{"event": "warning"}, {"event": "result", "outputs"}, {"event": "error", "message", "kind"}.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any


class Reporter:
    """Writes events as JSON lines (the worker) or plain text (a person at a terminal)."""

    def __init__(self, json_lines: bool = True, stream=None):
        self.json_lines = json_lines
        self.stream = stream or sys.stdout

    def _emit(self, event: str, **fields: Any) -> None:
        if self.json_lines:
            self.stream.write(json.dumps({"event": event, **fields}, default=_plain) + "\n")
        elif event == "progress":
            if fields.get("message"):
                self.stream.write(f"[{100 * (fields.get('fraction') or 0):5.1f} %] {fields['message']}\n")
        elif event == "result":
            for key, value in fields["outputs"].items():
                self.stream.write(f"{key}: {value}\n")
        else:
            self.stream.write(f"{event}: {fields.get('message', '')}\n")
        self.stream.flush()

    def progress(self, fraction: float | None, message: str = "", **fields: Any) -> None:
        self._emit("progress", fraction=fraction, message=message, **fields)

    def log(self, message: str) -> None:
        self._emit("log", message=message)

    def warning(self, message: str) -> None:
        self._emit("warning", message=message)

    def result(self, outputs: dict) -> None:
        self._emit("result", outputs=outputs)

    def error(self, message: str, kind: str = "user") -> None:
        self._emit("error", message=message, kind=kind)


class TimeLeft:
    """The time to finish a job from its measured pace: the time since its first report over the share of the work
    done since then, times the share left. Silent until the pace has been measured for a while."""

    def __init__(self, min_seconds: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.min_seconds, self.clock = min_seconds, clock
        self.start: tuple[float, float] | None = None

    def seconds(self, fraction: float) -> float | None:
        now = self.clock()
        if self.start is None:
            self.start = (now, fraction)
            return None
        started, first = self.start
        if now - started < self.min_seconds or fraction <= first:
            return None
        return (now - started) / (fraction - first) * max(0.0, 1.0 - fraction)

    def text(self, fraction: float) -> str:
        """", about 12 min left" (empty until measured)."""
        left = self.seconds(fraction)
        return "" if left is None else f", about {duration(left)} left"


def duration(seconds: float) -> str:
    """A duration as a person reads it: 40 s, 12 min, 3 h 20 min."""
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _plain(value: Any):
    """numpy scalars and arrays into JSON."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
