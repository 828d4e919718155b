"""Load pyroute2's netlink message classes without running `pyroute2/__init__.py`.

The package `__init__` imports all of pyroute2 (NDB, IPDB, nftables, asyncio, ssl...: 250-300 ms per
process). The message codecs we need live in `pyroute2.netlink.rtnl.*` and do not need any of that.
We register an empty package object named `pyroute2` whose `__path__` points at the real package
directory, so submodule imports resolve normally but the package body never runs. This relies on
pyroute2's internal layout; tests/unit/test_import_budget.py fails if an upgrade breaks it.
"""

from __future__ import annotations

import sys
import types


def _package_dir() -> str:
    import importlib.machinery

    spec = importlib.machinery.PathFinder.find_spec("pyroute2")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("pyroute2 is not installed")
    return list(spec.submodule_search_locations)[0]


class _LeanConfig(types.ModuleType):
    """`pyroute2.config` without importing multiprocessing and platform (about 5 ms per call).

    The message codecs read only a few plain settings (AF_BRIDGE, machine, kernel...), set here with
    the same values the real module computes. Anything else (MpPipe, LocalMock, mock_if...) loads the
    real module on first use. tests/unit/test_nl_loader_config.py compares both modules' settings.
    """

    def __getattr__(self, attr: str) -> object:
        import importlib

        real = sys.modules.get("pyroute2._real_config")
        if real is None:
            del sys.modules["pyroute2.config"]
            try:
                real = importlib.import_module("pyroute2.config")
            finally:
                sys.modules["pyroute2.config"] = self
            sys.modules["pyroute2._real_config"] = real
        return getattr(real, attr)


def _lean_config(package_dir: str) -> types.ModuleType:
    import os
    import signal
    import socket
    import struct

    config = _LeanConfig("pyroute2.config")
    config.__path__ = [os.path.join(package_dir, "config")]  # type: ignore[attr-defined]
    uname = os.uname()
    release_digits = ""
    for char in uname.release:
        if not (char.isdigit() or char == "."):
            break
        release_digits += char
    config.__dict__.update(
        SocketBase=socket.socket, ipdb_nl_async=True, nlm_generator=False, nla_via_getattr=False,
        async_qsize=4096, commit_barrier=0, gc_timeout=60, db_transaction_limit=1, cache_expire=60,
        telemetry=None, child_process_mode="fork", disable_mp_signal=False, force_gc=False,
        signal_stop_remote=getattr(signal, "SIGUSR1", None), mock_netlink=False, mock_netns=False,
        nlsocket_thread_safe=True,
        uname=(uname.sysname, uname.nodename, uname.release, uname.version, uname.machine, ""),
        machine=uname.machine, arch=f"{struct.calcsize('P') * 8}bit",
        kernel=[int(x) for x in release_digits.split(".") if x],
        default_create_socket_timeout=10, default_communicate_timeout=2,
        AF_BRIDGE=getattr(socket, "AF_BRIDGE", 7), AF_NETLINK=getattr(socket, "AF_NETLINK", 16),
        data_plugins_pkgs=[], data_plugins_path=[], netns_path=["/var/run/netns", "/var/run/docker/netns"],
        entry_points_aliases={"pyroute2.netlink.exceptions": "pyroute2.netlink.exceptions"},
    )  # fmt: skip
    return config


def install_stub() -> None:
    """Make `import pyroute2.X` skip the package body. Harmless if pyroute2 is already imported."""
    if "pyroute2" in sys.modules:
        return
    stub = types.ModuleType("pyroute2")
    package_dir = _package_dir()
    stub.__path__ = [package_dir]  # type: ignore[attr-defined]
    stub.__file__ = None
    sys.modules["pyroute2"] = stub
    if "pyroute2.config" not in sys.modules:
        config = _lean_config(package_dir)
        sys.modules["pyroute2.config"] = config
        stub.config = config  # type: ignore[attr-defined]
