"""One plugin suite under test (ours or the Go reference) and how a runtime drives a conflist with it."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

from bench.runner import BASE_PATH, Call, spawn

CNI_VERSION = "1.0.0"  # the newest version Debian's Go plugins 1.1.1 speak


class Impl:
    def __init__(self, name: str, bin_dir: Path, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.bin_dir = bin_dir
        self.extra_env = env or {}
        self._has: dict[str, bool] = {}

    def has(self, plugin: str) -> bool:
        """True when the executable exists AND answers VERSION (a link to a bundle without the module fails)."""
        if plugin not in self._has:
            exe = self.bin_dir / plugin
            ok = os.access(exe, os.X_OK)
            if ok:
                call = spawn([str(exe)], {"PATH": BASE_PATH, "CNI_COMMAND": "VERSION"})
                ok = call.ok and b"supportedVersions" in call.stdout
            self._has[plugin] = ok
        return self._has[plugin]

    def call(self, plugin: str, command: str, conf: dict, cid: str, netns: str, ifname: str = "eth0") -> Call:
        env = {
            "PATH": BASE_PATH,
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": cid,
            "CNI_NETNS": netns,
            "CNI_IFNAME": ifname,
            "CNI_PATH": str(self.bin_dir),
            **self.extra_env,
        }
        return spawn([str(self.bin_dir / plugin)], env, json.dumps(conf).encode())


def plugin_conf(conflist: dict, plugin: dict, prev: dict | None, runtime: dict) -> dict:
    """The config one plugin of a conflist receives (libcni's buildOneConfig)."""
    conf = copy.deepcopy(plugin)
    conf["cniVersion"] = conflist["cniVersion"]
    conf["name"] = conflist["name"]
    caps = conf.get("capabilities") or {}
    wanted = {k: v for k, v in runtime.items() if caps.get(k)}
    if wanted:
        conf["runtimeConfig"] = wanted
    if prev is not None:
        conf["prevResult"] = prev
    return conf


class ChainError(RuntimeError):
    pass


def chain(
    impl: Impl, command: str, conflist: dict, cid: str, netns: str, runtime: dict, cached: dict | None
) -> tuple[dict | None, list[Call]]:
    """Run a whole conflist for one container; returns (result, calls). Raises ChainError on failure.

    `cached` is the prevResult: the cached ADD result for CHECK/DEL, normally None for ADD.
    """
    plugins = conflist["plugins"]
    calls: list[Call] = []
    prev = cached
    order = list(reversed(plugins)) if command == "DEL" else plugins
    for plugin in order:
        call = impl.call(plugin["type"], command, plugin_conf(conflist, plugin, prev, runtime), cid, netns)
        calls.append(call)
        if not call.ok:
            raise ChainError(f"{impl.name} {plugin['type']} {command}: {call.why()}")
        if command == "ADD":
            prev = call.json()
    return (prev if command == "ADD" else cached), calls


def total(calls: list[Call]) -> Call:
    """A chain's calls as one sample: summed wall and CPU, the largest peak RSS."""
    return Call(
        max((c.rc for c in calls), default=0),
        b"",
        b"",
        sum(c.wall_ms for c in calls),
        sum(c.cpu_ms for c in calls),
        max((c.maxrss_kb for c in calls), default=0),
    )


def bridge_plugin(bridge: str, subnet: str, data_dir: str, **extra: object) -> dict:
    return {
        "type": "bridge",
        "bridge": bridge,
        "isGateway": True,
        "ipMasq": False,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": subnet}]], "dataDir": data_dir},
        **extra,
    }


PORTMAP = {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True}


def conflist(name: str, *plugins: dict) -> dict:
    return {"cniVersion": CNI_VERSION, "name": name, "plugins": list(plugins)}


def fake_prev_result(ip: str, netns: str) -> dict:
    """A bridge-like result for portmap alone: container IP on eth0 in `netns`."""
    return {
        "cniVersion": CNI_VERSION,
        "interfaces": [
            {"name": "bnbr", "mac": "02:00:00:00:00:01"},
            {"name": "eth0", "mac": "02:00:00:00:00:02", "sandbox": netns},
        ],
        "ips": [{"interface": 1, "address": f"{ip}/16", "gateway": ip.rsplit(".", 2)[0] + ".0.1"}],
        "dns": {},
    }


def mappings(n: int, base_port: int) -> list[dict]:
    return [{"hostPort": base_port + i, "containerPort": 8000 + i, "protocol": "tcp"} for i in range(n)]
