"""Run a helper program (IPAM plugin, iptables-restore, nft) with stdin, capturing stdout and stderr.

`subprocess` costs ~20 ms of imports per call; posix_spawn plus a poll loop does the same job here.
"""

from __future__ import annotations

import os
import select
from dataclasses import dataclass


@dataclass(frozen=True)
class Completed:
    """A finished child process: exit status and what it printed."""

    returncode: int
    stdout: bytes
    stderr: bytes


class Running:
    """A child started by `start`: do other work, then `wait()` for it as `run` would have."""

    def __init__(self, pid: int, in_w: int, out_r: int, err_r: int, stdin: bytes) -> None:
        self.pid, self.in_w, self.out_r, self.err_r, self.stdin = pid, in_w, out_r, err_r, stdin

    def wait(self) -> Completed:
        return _communicate(self.pid, self.in_w, self.out_r, self.err_r, self.stdin)


def run(argv: list[str], stdin: bytes = b"", env: dict[str, str] | None = None) -> Completed:
    """Spawn argv[0] (a path, or a name looked up in PATH) and wait for it."""
    return start(argv, stdin, env).wait()


def start(argv: list[str], stdin: bytes = b"", env: dict[str, str] | None = None) -> Running:
    """Spawn argv[0] without waiting. The child starts in the calling thread's namespaces (setns'd
    ones included); `stdin` is written when `wait()` runs, so a child that must read it first waits."""
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    actions = [
        (os.POSIX_SPAWN_DUP2, in_r, 0),
        (os.POSIX_SPAWN_DUP2, out_w, 1),
        (os.POSIX_SPAWN_DUP2, err_w, 2),
    ]
    spawn = os.posix_spawn if "/" in argv[0] else os.posix_spawnp
    try:
        pid = spawn(argv[0], argv, os.environ if env is None else env, file_actions=actions)
    except OSError:
        for fd in (in_w, out_r, err_r):
            os.close(fd)
        raise
    finally:
        for fd in (in_r, out_w, err_w):
            os.close(fd)
    if not stdin:  # EOF at once: a child reading stdin does not wait for wait()
        os.close(in_w)
        in_w = -1
    return Running(pid, in_w, out_r, err_r, stdin)


def _communicate(pid: int, in_w: int, out_r: int, err_r: int, data: bytes) -> Completed:
    """Feed stdin and drain both outputs together, so a chatty child never blocks on a full pipe."""
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    poller = select.poll()
    poller.register(out_r, select.POLLIN)
    poller.register(err_r, select.POLLIN)
    if data:
        poller.register(in_w, select.POLLOUT)
    elif in_w >= 0:
        os.close(in_w)
    view, open_fds = memoryview(data), {out_r, err_r} | ({in_w} if data else set())
    while open_fds:
        for fd, _event in poller.poll():
            if fd == in_w:
                try:
                    view = view[os.write(in_w, view[:65536]) :]
                except BrokenPipeError:
                    view = view[:0]
                if not view:
                    poller.unregister(in_w)
                    os.close(in_w)
                    open_fds.discard(in_w)
                continue
            block = os.read(fd, 65536)
            if block:
                chunks[fd].append(block)
            else:
                poller.unregister(fd)
                os.close(fd)
                open_fds.discard(fd)
    _pid, status = os.waitpid(pid, 0)
    return Completed(os.waitstatus_to_exitcode(status), b"".join(chunks[out_r]), b"".join(chunks[err_r]))
