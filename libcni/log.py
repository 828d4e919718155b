"""Plugin logging: stderr always, a file too when the config names one (`logFile`, `logLevel`).

Never stdout: stdout carries exactly one JSON document. The stdlib `logging` package is not used
because every plugin call would pay for importing it.
"""

from __future__ import annotations

import os
import sys
import time

LEVELS = {"debug": 10, "info": 20, "warning": 30, "warn": 30, "error": 40, "panic": 50}

_state: dict[str, str] = {"level": "30", "file": "", "tag": "pycni"}


def configure(tag: str, log_file: str = "", level: str = "") -> None:
    _state["tag"] = tag
    if log_file:
        _state["file"] = log_file
    if level:
        _state["level"] = str(LEVELS.get(level.lower(), int(_state["level"])))
    elif log_file:
        _state["level"] = str(LEVELS["info"])


def _emit(level: int, name: str, msg: str) -> None:
    if level < int(_state["level"]):
        return
    line = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {_state['tag']}[{os.getpid()}] {name}: {msg}\n"
    sys.stderr.write(line)
    if _state["file"]:
        try:
            with open(_state["file"], "a", encoding="utf-8") as fh:
                fh.write(line)
        except OSError as err:
            sys.stderr.write(f"pycni: cannot write log file {_state['file']}: {err}\n")


def debug(msg: str) -> None:
    _emit(10, "debug", msg)


def info(msg: str) -> None:
    _emit(20, "info", msg)


def warning(msg: str) -> None:
    _emit(30, "warning", msg)


def error(msg: str) -> None:
    _emit(40, "error", msg)
