"""Shared setup for the bridge integration tests: a host namespace, configs, and state probes."""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.cni import GO_BIN, PYCNI_BIN, ip_json, run_plugin, sh


def bridge_name() -> str:
    return "br" + uuid.uuid4().hex[:8]


@dataclass
class Env:
    """One throwaway host netns with a bridge name and a dataDir of its own."""

    netns: object
    data: Path
    host: str = ""
    bridge: str = field(default_factory=bridge_name)

    def conf(
        self,
        version: str = "1.0.0",
        *,
        ipam: dict | None = None,
        subnet4: str = "10.77.0.0/24",
        subnet6: str | None = None,
        **keys,
    ) -> dict:
        ranges = [[{"subnet": subnet4}]] if subnet4 else []
        if subnet6:
            ranges.append([{"subnet": subnet6}])
        default_ipam = {"type": "host-local", "dataDir": str(self.data), "ranges": ranges}
        return {
            "cniVersion": version,
            "name": "brnet",
            "type": "bridge",
            "bridge": self.bridge,
            "ipam": default_ipam if ipam is None else ipam,
            **keys,
        }

    def container(self) -> tuple[str, str]:
        name = self.netns.new("c")
        return name, self.netns.path(name)

    def run(
        self,
        command: str,
        conf: dict,
        cid: str,
        path: str,
        *,
        ifname: str = "eth0",
        go: bool = False,
        cni_path: str | None = None,
        **kw,
    ):
        bin_dir = GO_BIN if go else PYCNI_BIN
        if cni_path is None:
            cni_path = str(GO_BIN) if go else f"{PYCNI_BIN}:{GO_BIN}"
        return run_plugin(
            "bridge",
            command,
            conf,
            container_id=cid,
            netns=path,
            ifname=ifname,
            host_ns=self.host,
            bin_dir=bin_dir,
            path=cni_path,
            **kw,
        )

    # --- probes (independent tools) ---
    def links(self, ns: str | None = None) -> dict[str, dict]:
        return {link["ifname"]: link for link in ip_json("-d", "link", "show", ns=ns or self.host)}

    def addrs(self, ifname: str, ns: str | None = None) -> list[str]:
        out = ip_json("addr", "show", "dev", ifname, ns=ns or self.host)
        return [f"{a['local']}/{a['prefixlen']}" for a in out[0]["addr_info"] if a.get("scope") == "global"]

    def reservations(self, network: str = "brnet") -> list[str]:
        d = self.data / network
        if not d.exists():
            return []
        return sorted(p.name for p in d.iterdir() if p.name[0].isdigit() or ":" in p.name)

    def nat_rules(self) -> str:
        v4 = sh("iptables-save", "-t", "nat", ns=self.host)
        v6 = sh("ip6tables-save", "-t", "nat", ns=self.host)
        return "\n".join(line for line in (v4 + v6).splitlines() if "CNI-" in line)

    def nft(self) -> list[dict]:
        doc = json.loads(sh("nft", "-j", "list", "ruleset", ns=self.host) or "{}")
        return [i for i in doc.get("nftables", []) if "rule" in i or "chain" in i]

    def masq_nft_rules(self) -> list[dict]:
        return [
            i["rule"]
            for i in self.nft()
            if "rule" in i and i["rule"]["table"] == "cni_plugins_masquerade" and i["rule"]["chain"] == "masq_checks"
        ]

    def sysctl(self, name: str, ns: str | None = None) -> str:
        return sh("cat", f"/proc/sys/{name}", ns=ns or self.host).strip()


def veth_ports(env: Env) -> list[str]:
    """Host veths named like the plugin names them (vethXXXXXXXX)."""
    return [
        n
        for n, link in env.links().items()
        if link.get("linkinfo", {}).get("info_kind") == "veth" and re.fullmatch(r"veth[0-9a-f]{8}", n)
    ]


def assert_clean(env: Env) -> None:
    """No veth, no ipMasq rule of either backend, no reservation."""
    assert veth_ports(env) == []
    assert env.nat_rules() == ""
    assert env.masq_nft_rules() == []
    assert env.reservations() == []


def make_env(netns, tmp_path) -> Env:
    env = Env(netns=netns, data=tmp_path / "ipam")
    env.host = netns.new("h")
    os.makedirs(env.data, exist_ok=True)
    return env
