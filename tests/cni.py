"""Test helpers: run a CNI plugin exactly as a runtime does, and make throwaway network namespaces.

Plugins are exec'd with a clean environment (PATH plus the CNI_* variables) and the config on stdin.
`PYCNI_BIN` names the directory of the executables under test (default: the built dist/bin).
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYCNI_BIN = Path(os.environ.get("PYCNI_BIN", ROOT / "dist" / "bin"))
GO_BIN = Path(os.environ.get("GO_CNI_BIN", "/usr/lib/cni"))
BASE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict:
        """stdout parsed; fails the test unless stdout is exactly one JSON document."""
        return json.loads(self.stdout)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def error(self) -> dict:
        """The CNI error of a failed call (asserts it failed and printed exactly one error JSON)."""
        assert self.returncode != 0, f"expected failure, got success: {self.stdout}"
        doc = self.json
        assert isinstance(doc.get("code"), int) and isinstance(doc.get("msg"), str), doc
        return doc

    def silent_success(self) -> None:
        """DEL, CHECK, GC and STATUS print nothing on success."""
        assert self.returncode == 0, f"plugin failed ({self.returncode}): {self.stdout}\n{self.stderr}"
        assert self.stdout == "", f"unexpected output: {self.stdout!r}"

    def result(self) -> dict:
        assert self.returncode == 0, f"plugin failed ({self.returncode}): {self.stdout}\n{self.stderr}"
        return self.json


def run_plugin(
    plugin: str,
    command: str,
    conf: dict | bytes | str | None,
    *,
    container_id: str = "",
    netns: str = "",
    ifname: str = "",
    cni_args: str = "",
    path: str | None = None,
    host_ns: str | None = None,
    bin_dir: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> Run:
    """Exec `plugin` from `bin_dir` with CNI_COMMAND=`command`; inside netns `host_ns` when given."""
    bin_dir = bin_dir or PYCNI_BIN
    full_env = dict(BASE_ENV)
    full_env.update(
        {
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": container_id,
            "CNI_NETNS": netns,
            "CNI_IFNAME": ifname,
            "CNI_ARGS": cni_args,
            "CNI_PATH": str(bin_dir) if path is None else path,
        }
    )
    full_env = {k: v for k, v in full_env.items() if v != "" or k == "PATH"}
    if env:
        full_env.update(env)
    if isinstance(conf, dict):
        data = json.dumps(conf).encode()
    elif isinstance(conf, str):
        data = conf.encode()
    else:
        data = conf or b""
    argv = [str(bin_dir / plugin)]
    if host_ns:
        argv = ["ip", "netns", "exec", host_ns, *argv]
    proc = subprocess.run(argv, input=data, env=full_env, capture_output=True, timeout=timeout)
    return Run(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def sh(*argv: str, ns: str | None = None, check: bool = True, timeout: float = 30) -> str:
    """Run a command (in netns `ns` when given) and return its stdout."""
    cmd = list(argv)
    if ns:
        cmd = ["ip", "netns", "exec", ns, *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def ip_json(*argv: str, ns: str | None = None) -> list:
    out = sh("ip", "-j", *argv, ns=ns)
    return json.loads(out) if out.strip() else []


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Namespaces:
    """Creates network namespaces with a common prefix and removes every one of them at the end."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.names: list[str] = []

    def new(self, role: str = "ns", loopback_up: bool = True) -> str:
        name = unique(f"{self.prefix}{role}")
        sh("ip", "netns", "add", name)
        self.names.append(name)
        if loopback_up:
            sh("ip", "link", "set", "lo", "up", ns=name)
        return name

    def path(self, name: str) -> str:
        return f"/run/netns/{name}"

    def delete(self, name: str) -> None:
        sh("ip", "netns", "del", name, check=False)
        if name in self.names:
            self.names.remove(name)

    def cleanup(self) -> None:
        for name in list(self.names):
            self.delete(name)
