"""The lean `pyroute2.config` of libcni.nl.loader must hold the same settings as the real module."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

DUMP = """
import json, sys, types
sys.path.insert(0, {root!r})
if {lean}:
    from libcni.nl import loader
    loader.install_stub()
import pyroute2.config as c
names = {names!r}
print(json.dumps({{n: repr(getattr(c, n)) for n in names}}))
print(json.dumps(sorted(sys.modules)))
"""

NAMES = [
    "SocketBase", "ipdb_nl_async", "nlm_generator", "nla_via_getattr", "async_qsize", "commit_barrier", "gc_timeout",
    "db_transaction_limit", "cache_expire", "telemetry", "child_process_mode", "disable_mp_signal", "force_gc",
    "signal_stop_remote", "mock_netlink", "mock_netns", "nlsocket_thread_safe", "uname", "machine", "arch", "kernel",
    "default_create_socket_timeout", "default_communicate_timeout", "AF_BRIDGE", "AF_NETLINK", "data_plugins_pkgs",
    "data_plugins_path", "netns_path", "entry_points_aliases",
]  # fmt: skip


def _dump(lean: bool) -> tuple[dict, list]:
    code = DUMP.format(root=str(ROOT), lean=lean, names=NAMES)
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True).stdout
    values, modules = out.splitlines()
    return json.loads(values), json.loads(modules)


def test_lean_config_matches_real_and_skips_multiprocessing() -> None:
    lean, lean_modules = _dump(True)
    real, _ = _dump(False)
    assert lean == real
    assert "multiprocessing" not in lean_modules and "platform" not in lean_modules


def test_lean_config_loads_real_module_for_other_names() -> None:
    code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); from libcni.nl import loader; loader.install_stub(); "
    code += "import pyroute2.config as c; print(c.MpPipe.__module__, c.LocalMock.__name__)"
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["multiprocessing.context", "LocalMock"]
