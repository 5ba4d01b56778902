"""JSON-lines events on stdout: how the worker process talks to the QGIS algorithm.

One JSON object per line: {"event": "progress", "fraction", "message"}, {"event": "log"},
{"event": "warning"}, {"event": "result", "outputs"}, {"event": "error", "message", "kind"}.
"""

from __future__ import annotations

import json
import sys
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


def _plain(value: Any):
    """numpy scalars and arrays into JSON."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
