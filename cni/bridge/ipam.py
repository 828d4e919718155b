"""IPAM for bridge: delegate every verb to `ipam.type`, in-process when that is pycni's own host-local.

The fast path saves starting a second interpreter (tens of ms per call). It is taken only when the
file that CNI_PATH resolves `ipam.type` to is this very program: the same frozen executable, or a
source shim of the same tree. Anything else (the Go host-local, dhcp, a wrapper script) is exec'd
exactly as the spec says, so the observable behaviour is the same either way.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace

from libcni import log
from libcni.ipam.delegate import delegate, find_in_path
from libcni.skel import CmdArgs
from libcni.types import Result

# Set by tests or users to force the exec path even for our own host-local.
NO_FAST_PATH_ENV = "PYCNI_IPAM_EXEC"


def _source_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def is_own_host_local(found: str) -> bool:
    """True when `found` is this program (frozen bundle or a dev shim of this source tree)."""
    real = os.path.realpath(found)
    if getattr(sys, "frozen", False):
        return real == os.path.realpath(sys.executable)
    try:
        with open(real, "rb") as fh:
            head = fh.read(512)
    except OSError:
        return False
    return head.startswith(b"#!") and b"cni.multicall" in head and f'"{_source_root()}"'.encode() in head


def _in_process(plugin: str, paths: list[str]) -> object | None:
    """The in-process host-local module when the fast path applies, else None."""
    if plugin != "host-local" or os.environ.get(NO_FAST_PATH_ENV):
        return None
    try:
        if not is_own_host_local(find_in_path(plugin, paths)):
            return None
        from libcni.ipam import hostlocal
    except Exception:  # noqa: BLE001 - not found or not importable: the exec path reports it properly
        return None
    return hostlocal


def run(command: str, args: CmdArgs, plugin: str) -> Result | None:
    """Run IPAM `command` (ADD/DEL/CHECK/GC/STATUS); ADD returns the result in the config's version."""
    module = _in_process(plugin, args.path)
    log.debug(f"IPAM {command} {plugin}: {'exec' if module is None else 'in-process'}")
    if module is None:
        return delegate(command, plugin, args.stdin, args.path, args.cni_version)
    handler = getattr(
        module,
        {"ADD": "cmd_add", "DEL": "cmd_del", "CHECK": "cmd_check", "GC": "cmd_gc", "STATUS": "cmd_status"}[command],
    )
    result = handler(replace(args, command=command))
    if command != "ADD":
        return None
    # The exec path prints the result in the config's version and reads it back; do the same so both
    # paths hand the bridge exactly the same result.
    return Result.from_json(result.to_json(args.cni_version), args.cni_version)
