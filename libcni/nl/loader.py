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

    @property
    def signal_stop_remote(self) -> object:
        """signal.SIGUSR1 as the real module has it; `signal` (its IntEnums: ~0.5 ms) only when read."""
        import signal

        return getattr(signal, "SIGUSR1", None)


def _lean_config(package_dir: str) -> types.ModuleType:
    import os
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
        mock_netlink=False, mock_netns=False,
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


IFINFMSG = "pyroute2.netlink.rtnl.ifinfmsg"
_KIND_PLUGINS = f"{IFINFMSG}.plugins"
# The IFLA_INFO_DATA codecs ifinfmsg imports up front, one module each (pyroute2 0.9.7); pycni makes
# veth and bridge links (codecs inside ifinfmsg itself) and only decodes these kinds if it meets them.
LINK_KIND_PLUGINS = (
    "bond", "can", "geneve", "gtp", "ipoib", "ipvlan", "team", "tun", "tuntap", "vlan", "vrf", "vti", "vti6",
    "vxlan", "xfrm",
)  # fmt: skip


class _DeferredKind:
    """Stands in for a link-kind codec class in ifinfmsg's kind table until that kind is met."""

    def __init__(self, name: str) -> None:
        self.module = f"{_KIND_PLUGINS}.{name}"
        self.name = name

    def load(self) -> type:
        import importlib

        if getattr(sys.modules.get(self.module), "__pycni_placeholder__", False):
            del sys.modules[self.module]
        return getattr(importlib.import_module(self.module), self.name)


class _LazyKinds(dict):
    """ifinfmsg's kind -> IFLA_INFO_DATA codec table; a deferred codec is imported on first lookup."""

    def __getitem__(self, kind: object) -> object:
        value = super().__getitem__(kind)
        if isinstance(value, _DeferredKind):
            value = value.load()
            self[kind] = value
        return value

    def get(self, kind: object, default: object = None) -> object:
        return self[kind] if kind in self else default

    def values(self):  # type: ignore[no-untyped-def, override]
        return [self[k] for k in self]

    def items(self):  # type: ignore[no-untyped-def, override]
        return [(k, self[k]) for k in self]


def _defer_kind_plugins() -> None:
    """Placeholder modules for ifinfmsg's link-kind plugins (15 imports, ~1.5 ms per process)."""
    for name in LINK_KIND_PLUGINS:
        module = types.ModuleType(f"{_KIND_PLUGINS}.{name}")
        module.__pycni_placeholder__ = True  # type: ignore[attr-defined]
        setattr(module, name, _DeferredKind(name))
        sys.modules.setdefault(module.__name__, module)


def _lazy_kind_table(ifinfmsg_module: types.ModuleType) -> None:
    """After ifinfmsg ran: its kind table resolves the placeholders on lookup (info_data uses .get)."""
    info = ifinfmsg_module.ifinfbase.ifinfo
    info.data_map = _LazyKinds(info.data_map)


class _AfterIfinfmsg:
    """A one-shot meta path finder: when ifinfmsg is imported, patch its kind table right after it runs."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> object:
        if fullname != IFINFMSG:
            return None
        sys.meta_path.remove(self)  # type: ignore[arg-type]
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            spec = find_spec(fullname, path, target) if find_spec else None
            if spec is not None and spec.loader is not None:
                spec.loader.exec_module = _then_patch(spec.loader.exec_module)  # this spec's own loader
                return spec
        return None


def _then_patch(exec_module):  # type: ignore[no-untyped-def]
    def exec_then_patch(module: types.ModuleType) -> None:
        exec_module(module)
        _lazy_kind_table(module)

    return exec_then_patch


def _defer_link_kinds() -> None:
    if IFINFMSG in sys.modules:
        return
    from libcni import lazy

    lazy.defer("pkgutil")  # ifinfmsg imports it for plugin packages, and our config lists none
    lazy.defer("selectors")  # socket imports it for sendfile() only (~0.7 ms with math)
    _defer_kind_plugins()
    sys.meta_path.insert(0, _AfterIfinfmsg())  # type: ignore[arg-type]


def install_stub() -> None:
    """Make `import pyroute2.X` skip the package body. Harmless if pyroute2 is already imported."""
    if "pyroute2" in sys.modules:
        return
    _defer_link_kinds()
    stub = types.ModuleType("pyroute2")
    package_dir = _package_dir()
    stub.__path__ = [package_dir]  # type: ignore[attr-defined]
    stub.__file__ = None
    sys.modules["pyroute2"] = stub
    if "pyroute2.config" not in sys.modules:
        config = _lean_config(package_dir)
        sys.modules["pyroute2.config"] = config
        stub.config = config  # type: ignore[attr-defined]
