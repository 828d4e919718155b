"""Start-up budgets per entry point, from `python -X importtime` (import time, not wall time).

Every CNI call is a fresh process, so imports are paid on every call. These tests pin what each path
may import: VERSION and config errors must answer before any netlink library loads, and a real ADD of
loopback or bridge must not run `pyroute2/__init__.py` or pull asyncio, ssl, multiprocessing,
subprocess... Module counts are exact-ish and load-independent (the main regression guard); the
microsecond budgets are generous (the machine is shared) and take the best of three runs.
bench/README.md has the measurements behind the numbers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ("loopback", "bridge", "host-local", "portmap")

# Modules no plugin call may import before it acts (each costs 5-100 ms, or signals pyroute2's __init__ ran).
NEVER = {"pyroute2", "asyncio", "ssl", "multiprocessing", "subprocess", "click", "netaddr", "logging.handlers"}
# Loaded only on first use (libcni.lazy stand-ins; libcni.digest instead of OpenSSL's hashlib): a successful
# call must never load them (inspect: a dataclass without a docstring; logging/traceback: a log call).
DEFERRED = {"inspect", "logging", "traceback", "_hashlib", "copy"}
# Answering VERSION or rejecting a config must not load any netlink code at all.
NO_NETLINK = {"pyroute2.netlink", "libcni.nl.socket"}
# What libcni.nl.loader keeps off every netlink path (stand-ins until used): ifinfmsg's link-kind codecs
# (15 modules; pycni makes veth and bridge links), pkgutil, selectors (socket's sendfile), signal.
LOADER_DEFERRED = {"pkgutil", "selectors", "signal", "pyroute2.netlink.rtnl.ifinfmsg.plugins.vlan"}

# What the paths without netlink code (config errors, host-local) never need: importlib (and its warnings)
# is for pyroute2's loader, contextlib for bridge and netns, weakref comes only with copy (deferred).
NON_NETLINK_OFF = {"importlib", "warnings", "weakref"}
HOST_LOCAL_OFF = NON_NETLINK_OFF | {"contextlib"}

# Budgets (best of 3, µs of top-level import time; module count). The time budgets only catch big regressions
# (pyroute2's __init__ alone is 250+ ms): the shared 2-core machine swings 20-100 ms under load. The module
# counts are the tight guard (measured: VERSION 33, config error 69-76, ADD loopback 99, bridge 121 modules,
# import time 34-55 ms; bridge DEL 89 modules, no netlink: `ip link del` does the deletion; host-local ADD
# and DEL 76).
VERSION_BUDGET_US, VERSION_MAX_MODULES = 150_000, 40
CONFIG_ERROR_BUDGET_US, CONFIG_ERROR_MAX_MODULES = 150_000, 82
ADD_BUDGET_US, ADD_MAX_MODULES = 200_000, 126
BRIDGE_DEL_BUDGET_US, BRIDGE_DEL_MAX_MODULES = 150_000, 94
HOST_LOCAL_BUDGET_US, HOST_LOCAL_MAX_MODULES = 150_000, 80

BAD_CONFIGS = {
    "loopback": {"prevResult": "not an object"},
    "bridge": {"mtu": "big", "ipam": {}},
    "host-local": {"ipam": {"type": "host-local"}},
    "portmap": {"snat": "yes", "runtimeConfig": {"portMappings": [{"hostPort": "x"}]}},
}


def _parse(stderr: str) -> tuple[int, set[str]]:
    """(total µs of the top-level imports, every module name) from `-X importtime` output."""
    modules, total = set(), 0
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        _, cumulative, name = line[len("import time:") :].split("|")
        modules.add(name.strip())
        if not name[1:].startswith(" "):  # top level: one space after the bar, no indentation
            total += int(cumulative)
    return total, modules


def _argv(plugin: str, ns: str | None) -> list[str]:
    code = f"import sys; sys.argv[0] = {plugin!r}; sys.path.insert(0, {str(ROOT)!r}); "
    code += "from cni.multicall import main; main()"
    argv = [sys.executable, "-I", "-X", "importtime", "-c", code]
    return ["ip", "netns", "exec", ns, *argv] if ns else argv


def run_once(plugin: str, env: dict[str, str], stdin: bytes, ns: str | None = None) -> tuple[int, set[str], int, str]:
    full_env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), **env}
    proc = subprocess.run(_argv(plugin, ns), input=stdin, capture_output=True, env=full_env, timeout=60)
    return (*_parse(proc.stderr.decode()), proc.returncode, proc.stdout.decode())


def importtime(plugin: str, env: dict[str, str], stdin: bytes = b"") -> tuple[int, set[str], int, str]:
    """Run `plugin` through the multicall entry: (µs, modules, exit code, stdout) of the best of 3 runs."""
    return min((run_once(plugin, env, stdin) for _ in range(3)), key=lambda run: run[0])


def _cni_env(command: str, netns: str = "/run/netns/bn-budget-missing") -> dict[str, str]:
    return {
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": "bnbudget",
        "CNI_NETNS": netns,
        "CNI_IFNAME": "eth0",
        "CNI_PATH": str(ROOT / "build" / "devbin"),
    }


@pytest.mark.parametrize("plugin", PLUGINS)
def test_version_answers_without_netlink(plugin: str) -> None:
    total, modules, rc, out = importtime(plugin, {"CNI_COMMAND": "VERSION"})
    assert rc == 0 and "supportedVersions" in json.loads(out), out
    assert not modules & (NEVER | NO_NETLINK | DEFERRED), sorted(modules & (NEVER | NO_NETLINK | DEFERRED))
    assert len(modules) <= VERSION_MAX_MODULES, f"{plugin} VERSION imports {len(modules)} modules"
    assert total <= VERSION_BUDGET_US, f"{plugin} VERSION import time {total} µs > {VERSION_BUDGET_US}"


@pytest.mark.parametrize("plugin", PLUGINS)
def test_config_error_answers_without_netlink(plugin: str) -> None:
    conf = {"cniVersion": "1.0.0", "name": "bnbudget", "type": plugin, **BAD_CONFIGS[plugin]}
    total, modules, rc, out = importtime(plugin, _cni_env("ADD"), json.dumps(conf).encode())
    assert rc != 0 and isinstance(json.loads(out).get("code"), int), out
    banned = NEVER | NO_NETLINK | DEFERRED | NON_NETLINK_OFF
    assert not modules & banned, sorted(modules & banned)
    assert len(modules) <= CONFIG_ERROR_MAX_MODULES, f"{plugin} config error imports {len(modules)} modules"
    assert total <= CONFIG_ERROR_BUDGET_US, f"{plugin} config error import time {total} µs > {CONFIG_ERROR_BUDGET_US}"


def _add_conf(plugin: str, tmp_path: Path) -> dict:
    if plugin == "loopback":
        return {"cniVersion": "1.0.0", "name": "bnbudget", "type": "loopback"}
    ipam = {"type": "host-local", "ranges": [[{"subnet": "10.213.0.0/24"}]], "dataDir": str(tmp_path)}
    return {"cniVersion": "1.0.0", "name": "bnbudget", "type": "bridge", "bridge": "bnbudget0", "ipam": ipam}


@pytest.mark.root
@pytest.mark.parametrize("plugin", ["loopback", "bridge"])
def test_add_path_stays_off_heavy_imports(plugin: str, netns, tmp_path: Path) -> None:
    host = netns.new("host")
    # Each of the 3 runs needs its own container namespace: the ADD really happens.
    containers = [netns.path(netns.new("c")) for _ in range(3)]
    conf = json.dumps(_add_conf(plugin, tmp_path)).encode()
    runs = []
    for netns_path in containers:
        env = _cni_env("ADD", netns_path)
        env["CNI_CONTAINERID"] = f"bnbudget{len(runs)}"
        runs.append(run_once(plugin, env, conf, host))
    total, modules, rc, out = min(runs, key=lambda r: r[0])
    assert rc == 0, out
    assert not modules & (NEVER | DEFERRED | LOADER_DEFERRED), sorted(modules & (NEVER | DEFERRED | LOADER_DEFERRED))
    assert len(modules) <= ADD_MAX_MODULES, f"{plugin} ADD imports {len(modules)} modules"
    assert total <= ADD_BUDGET_US, f"{plugin} ADD import time {total} µs > {ADD_BUDGET_US}"


@pytest.mark.root
def test_bridge_del_loads_no_netlink_codecs(netns, tmp_path: Path) -> None:
    """Without ipMasq, bridge DEL deletes the veth with `ip link del`: no pyroute2 at all."""
    host = netns.new("host")
    conf = json.dumps(_add_conf("bridge", tmp_path)).encode()
    runs = []
    for i in range(3):
        env = _cni_env("ADD", netns.path(netns.new("c")))
        env["CNI_CONTAINERID"] = f"bnbudgetdel{i}"
        assert run_once("bridge", env, conf, host)[2] == 0
        runs.append(run_once("bridge", {**env, "CNI_COMMAND": "DEL"}, conf, host))
    total, modules, rc, out = min(runs, key=lambda r: r[0])
    assert rc == 0, out
    assert not modules & (NEVER | DEFERRED | NO_NETLINK), sorted(modules & (NEVER | DEFERRED | NO_NETLINK))
    assert len(modules) <= BRIDGE_DEL_MAX_MODULES, f"bridge DEL imports {len(modules)} modules"
    assert total <= BRIDGE_DEL_BUDGET_US, f"bridge DEL import time {total} µs > {BRIDGE_DEL_BUDGET_US}"


@pytest.mark.parametrize("command", ["ADD", "DEL"])
def test_host_local_loads_only_what_it_uses(command: str, tmp_path: Path) -> None:
    """host-local (exec'd by Go's bridge, or ours with PYCNI_IPAM_EXEC) needs no netlink, importlib or contextlib."""
    ipam = {"type": "host-local", "ranges": [[{"subnet": "10.215.0.0/24"}]], "dataDir": str(tmp_path)}
    conf = json.dumps({"cniVersion": "1.0.0", "name": "bnbudget", "type": "host-local", "ipam": ipam}).encode()
    runs = []
    for i in range(3):  # host-local never enters the netns: a missing path is fine
        env = {**_cni_env(command), "CNI_CONTAINERID": f"bnbudgethl{i}"}
        runs.append(run_once("host-local", env, conf))
    total, modules, rc, out = min(runs, key=lambda r: r[0])
    assert rc == 0 and (command == "DEL" or json.loads(out)["ips"]), out
    banned = NEVER | NO_NETLINK | DEFERRED | HOST_LOCAL_OFF
    assert not modules & banned, sorted(modules & banned)
    assert len(modules) <= HOST_LOCAL_MAX_MODULES, f"host-local {command} imports {len(modules)} modules"
    assert total <= HOST_LOCAL_BUDGET_US, f"host-local {command} import time {total} µs > {HOST_LOCAL_BUDGET_US}"
