"""Process runner and private namespaces for the benchmark.

Every plugin call is a whole process started the way a runtime starts it (clean env, config on stdin).
`os.wait4` gives that call's own CPU time and peak RSS, children included (bridge's host-local exec,
portmap's iptables execs), so the CPU columns stay meaningful when other jobs load the machine.
"""

from __future__ import annotations

import json
import os
import selectors
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass
class Call:
    rc: int
    stdout: bytes
    stderr: bytes
    wall_ms: float
    cpu_ms: float
    maxrss_kb: int

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def json(self) -> dict:
        return json.loads(self.stdout)

    def why(self) -> str:
        return (self.stdout or self.stderr).decode(errors="replace").strip()[-400:]


def _drain(out_fd: int, err_fd: int) -> tuple[bytes, bytes]:
    chunks: dict[int, list[bytes]] = {out_fd: [], err_fd: []}
    with selectors.DefaultSelector() as sel:
        sel.register(out_fd, selectors.EVENT_READ)
        sel.register(err_fd, selectors.EVENT_READ)
        open_fds = 2
        while open_fds:
            for key, _ in sel.select():
                data = os.read(key.fd, 65536)
                if data:
                    chunks[key.fd].append(data)
                else:
                    sel.unregister(key.fd)
                    open_fds -= 1
    os.close(out_fd)
    os.close(err_fd)
    return b"".join(chunks[out_fd]), b"".join(chunks[err_fd])


def spawn(argv: list[str], env: dict[str, str], stdin: bytes = b"") -> Call:
    """Run argv to completion; pipes are O_CLOEXEC so parallel spawns never inherit each other's."""
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    actions = [(os.POSIX_SPAWN_DUP2, in_r, 0), (os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2)]
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
    for fd in (in_r, out_w, err_w):
        os.close(fd)
    try:
        os.write(in_w, stdin)
    except BrokenPipeError:
        pass  # VERSION does not read stdin
    os.close(in_w)
    out, err = _drain(out_r, err_r)
    _, status, usage = os.wait4(pid, 0)
    wall = (time.perf_counter() - start) * 1000
    cpu = (usage.ru_utime + usage.ru_stime) * 1000
    return Call(os.waitstatus_to_exitcode(status), out, err, wall, cpu, usage.ru_maxrss)


@dataclass
class Stats:
    """Samples of one operation for one implementation."""

    calls: list[Call] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def add(self, call: Call) -> None:
        self.calls.append(call)
        if not call.ok and len(self.failures) < 3:
            self.failures.append(call.why())

    def summary(self) -> dict:
        good = [c for c in self.calls if c.ok]
        failed = len(self.calls) - len(good)
        if not good:
            return {"n": len(self.calls), "failed": failed, "errors": self.failures}
        wall = sorted(c.wall_ms for c in good)
        cpu = sorted(c.cpu_ms for c in good)
        return {
            "n": len(self.calls),
            "failed": failed,
            "wall_p50": round(pct(wall, 50), 2),
            "wall_p90": round(pct(wall, 90), 2),
            "cpu_p50": round(pct(cpu, 50), 2),
            "cpu_p90": round(pct(cpu, 90), 2),
            "maxrss_kb": max(c.maxrss_kb for c in good),
            "errors": self.failures,
        }


def pct(sorted_values: list[float], p: int) -> float:
    if len(sorted_values) == 1:
        return sorted_values[0]
    return statistics.quantiles(sorted_values, n=100, method="inclusive")[p - 1]


def sh(*argv: str, stdin: str | None = None) -> str:
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout


class Namespaces:
    """Container network namespaces, made and removed in batches (one `ip -batch` each)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.count = 0
        self.live: list[str] = []

    def make(self, n: int) -> list[str]:
        names = [f"{self.prefix}{self.count + i}" for i in range(n)]
        self.count += n
        if names:
            sh("ip", "-batch", "-", stdin="".join(f"netns add {name}\n" for name in names))
            self.live += names
        return [f"/run/netns/{name}" for name in names]

    def remove_all(self) -> None:
        if self.live:
            sh("ip", "-force", "-batch", "-", stdin="".join(f"netns del {name}\n" for name in self.live))
            self.live = []


def enter_private_world(argv: list[str]) -> None:
    """Re-exec under a private net + mount namespace: nothing the bench makes can outlive it.

    The "host" of every plugin call is this private netns (its bridges and firewall rules die with
    the process); /run/netns is a private tmpfs, so container namespaces vanish on exit even on SIGKILL;
    /sys is remounted so it shows this netns.
    """
    if os.environ.get("BN_PRIVATE") == "1":
        return
    env = dict(os.environ, BN_PRIVATE="1")
    script = 'mkdir -p /run/netns && mount -t tmpfs bn-netns /run/netns && mount -t sysfs bn-sys /sys && exec "$@"'
    os.execvpe(
        "unshare",
        ["unshare", "--net", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh", *argv],
        env,
    )


def host_setup() -> None:
    sh("ip", "link", "set", "lo", "up")
    Path("/proc/sys/net/ipv4/ip_forward").write_text("1\n")
