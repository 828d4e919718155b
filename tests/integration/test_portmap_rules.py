"""portmap state: CHECK, GC, re-ADD, conntrack flush, Go-plugin compatibility, and bad input.

Rules are read back with iptables-save / nft, which the plugin only uses to read; topology and
helpers come from test_portmap.
"""

from __future__ import annotations

import json

import pytest

from libcni.portmapper.model import dnat_chain_name
from tests.cni import GO_BIN, run_plugin, sh
from tests.integration.test_portmap import (
    C1_MAPS,
    C2_MAPS,
    HOST4,
    HOST6,
    Topology,
    portmap_conf,
    probe,
    ruleset,
    topo,  # noqa: F401 - fixture
)

pytestmark = pytest.mark.root
BACKENDS = ["iptables", "nftables"]


def _break_one_rule(t: Topology, backend: str, cid: str) -> None:
    if backend == "iptables":
        chain = dnat_chain_name("pmnet", cid)
        spec = next(
            line
            for line in sh("iptables-save", "-t", "nat", ns=t.host).splitlines()
            if line.startswith(f"-A {chain} ") and "DNAT" in line
        )
        sh("iptables", "-t", "nat", "-D", *spec.split()[1:], ns=t.host)
        return
    doc = json.loads(sh("nft", "-j", "list", "table", "ip", "cni_hostport", ns=t.host))
    rule = next(
        i["rule"]
        for i in doc["nftables"]
        if "rule" in i and i["rule"].get("comment") == cid and i["rule"]["chain"] == "hostports"
    )
    sh("nft", "delete", "rule", "ip", "cni_hostport", "hostports", "handle", str(rule["handle"]), ns=t.host)


@pytest.mark.parametrize("backend", BACKENDS)
def test_check_gc_and_readd(topo: Topology, backend: str) -> None:  # noqa: F811
    conf1 = portmap_conf(backend, C1_MAPS, topo.prev_result("c1"))
    conf2 = portmap_conf(backend, C2_MAPS, topo.prev_result("c2"))
    topo.plugin("ADD", conf1, "c1").result()
    topo.plugin("ADD", conf2, "c2").result()
    assert topo.plugin("CHECK", conf1, "c1").ok
    assert topo.plugin("CHECK", conf2, "c2").ok

    _break_one_rule(topo, backend, "pm-c1")
    failed = topo.plugin("CHECK", conf1, "c1")
    assert failed.error()["msg"], failed.stdout
    assert topo.plugin("CHECK", conf2, "c2").ok

    # A second ADD (iptables: the chain is rebuilt) with other mappings: the old port no longer works.
    if backend == "iptables":
        new = [{"hostPort": 7070, "containerPort": 5000, "protocol": "tcp"}]
        topo.plugin("ADD", portmap_conf(backend, new, topo.prev_result("c1")), "c1").result()
        assert probe(topo.outside, ("tcp", HOST4, 7070), ("tcp", HOST4, 8080)) == [
            "c1:5000",
            "ERR:ConnectionRefusedError",
        ]

    # GC of network pmnet keeping only c2: c1's rules go, c2 keeps working.
    gc = {"cniVersion": "1.1.0", "name": "pmnet", "type": "portmap", "backend": backend}
    gc["cni.dev/valid-attachments"] = [{"containerID": "pm-c2", "ifname": "eth0"}]
    assert run_plugin("portmap", "GC", gc, host_ns=topo.host).ok
    rules = ruleset(topo.host)
    assert "pm-c1" not in rules and "pm-c2" in rules
    assert probe(topo.outside, ("tcp", HOST4, 8081), ("tcp", HOST6, 8081)) == ["c2:5000", "c2:5000"]
    # GC for another network touches nothing of pmnet.
    gc["name"] = "othernet"
    gc["cni.dev/valid-attachments"] = []
    assert run_plugin("portmap", "GC", gc, host_ns=topo.host).ok
    assert "pm-c2" in ruleset(topo.host)


def _conntrack(ns: str, *args: str) -> None:
    sh("conntrack", "-I", "-p", "udp", "--sport", "40000", "-t", "120", *args, ns=ns, check=False)


def _udp_entries(ns: str) -> str:
    return sh("conntrack", "-L", "-p", "udp", "-f", "ipv4", ns=ns, check=False) + sh(
        "conntrack", "-L", "-p", "udp", "-f", "ipv6", ns=ns, check=False
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_udp_conntrack_flushed_on_add_and_del(topo: Topology, backend: str) -> None:  # noqa: F811
    h = topo.host
    for port in ("8080", "7777"):
        _conntrack(h, "-s", "192.168.99.2", "-d", HOST4, "--dport", port)
        _conntrack(h, "-s", "fd98::2", "-d", HOST6, "--dport", port)
    before = _udp_entries(h)
    assert before.count("dport=8080") == 2 and before.count("dport=7777") == 2, before
    topo.plugin("ADD", portmap_conf(backend, C1_MAPS, topo.prev_result("c1")), "c1").result()
    after = _udp_entries(h)
    assert "dport=8080" not in after and after.count("dport=7777") == 2, after
    # A flow that arrives now is DNATed; DEL (without mappings) flushes it too.
    assert probe(topo.outside, ("udp", HOST4, 8080)) == ["c1:5000"]
    assert "dport=8080" in _udp_entries(h)
    assert topo.plugin("DEL", portmap_conf(backend, [], topo.prev_result("c1")), "c1").ok
    assert "dport=8080" not in _udp_entries(h)


@pytest.mark.gobin
def test_go_and_pycni_delete_each_others_iptables_rules(topo: Topology) -> None:  # noqa: F811
    go_conf = portmap_conf("iptables", C1_MAPS[:2], topo.prev_result("c1"))
    del go_conf["backend"]  # Go 1.1.1 predates the key
    go = run_plugin(
        "portmap",
        "ADD",
        go_conf,
        container_id="pm-c1",
        netns=topo.spaces.path(topo.ns["c1"]),
        ifname="eth0",
        host_ns=topo.host,
        bin_dir=GO_BIN,
    )
    assert go.ok, go.stdout + go.stderr
    topo.plugin("ADD", portmap_conf("iptables", C2_MAPS, topo.prev_result("c2")), "c2").result()
    assert probe(topo.outside, ("tcp", HOST4, 8080), ("tcp", HOST4, 8081)) == ["c1:5000", "c2:5000"]
    assert topo.plugin("DEL", portmap_conf("iptables", [], None), "c1").ok  # ours, without mappings
    saved = sh("iptables-save", "-t", "nat", ns=topo.host) + sh("ip6tables-save", "-t", "nat", ns=topo.host)
    assert dnat_chain_name("pmnet", "pm-c1") not in saved and "pm-c2" in saved
    assert probe(topo.outside, ("tcp", HOST4, 8081)) == ["c2:5000"]
    go_del = run_plugin(
        "portmap",
        "DEL",
        portmap_conf("iptables", C2_MAPS, topo.prev_result("c2")) | {"backend": None},
        container_id="pm-c2",
        netns=topo.spaces.path(topo.ns["c2"]),
        ifname="eth0",
        host_ns=topo.host,
        bin_dir=GO_BIN,
    )
    assert go_del.ok, go_del.stdout
    assert "CNI-DN-" not in sh("iptables-save", "-t", "nat", ns=topo.host) + sh(
        "ip6tables-save", "-t", "nat", ns=topo.host
    )


def test_go_style_nftables_rules_removed_by_our_del(topo: Topology) -> None:  # noqa: F811
    """Rules laid out by the Go plugin (v1.9: comment = container ID, no owners entry) go with our DEL."""
    topo.plugin("ADD", portmap_conf("nftables", C2_MAPS, topo.prev_result("c2")), "c2").result()
    script = "\n".join(
        [
            'add rule ip cni_hostport hostports tcp dport 8080 dnat to 10.99.0.2:5000 comment "pm-c1"',
            'add rule ip cni_hostport masquerading ip saddr 10.99.0.2 ip daddr 10.99.0.2 masquerade comment "pm-c1"',
            'add rule ip6 cni_hostport hostports tcp dport 8080 dnat to [fd99::2]:5000 comment "pm-c1"',
        ]
    )
    sh("sh", "-c", f"printf '%s\\n' '{script}' | nft -f -", ns=topo.host)
    assert probe(topo.outside, ("tcp", HOST4, 8080)) == ["c1:5000"]
    assert topo.plugin("DEL", portmap_conf("nftables", [], None), "c1").ok
    rules = sh("nft", "list", "ruleset", ns=topo.host)
    assert "pm-c1" not in rules and rules.count('"pm-c2"') >= 4
    assert probe(topo.outside, ("tcp", HOST4, 8080), ("tcp", HOST6, 8081)) == ["ERR:ConnectionRefusedError", "c2:5000"]


def test_localhost_guard_rules(topo: Topology) -> None:  # noqa: F811
    """route_localnet is turned on for the bridge, and both backends drop off-box 127.0.0.0/8 sources."""
    for backend, tag in (("iptables", "c1"), ("nftables", "c2")):
        maps = C1_MAPS if tag == "c1" else C2_MAPS
        topo.plugin("ADD", portmap_conf(backend, maps, topo.prev_result(tag)), tag).result()
    assert sh("sysctl", "-n", "net.ipv4.conf.pmbr0.route_localnet", ns=topo.host).strip() == "1"
    assert "-A PREROUTING -s 127.0.0.0/8 ! -i lo" in sh("iptables-save", "-t", "raw", ns=topo.host)
    assert 'iifname != "lo" ip saddr 127.0.0.0/8 drop' in sh(
        "nft", "list", "chain", "ip", "cni_hostport", "localnet", ns=topo.host
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_sctp_mapping_rules(topo: Topology, backend: str) -> None:  # noqa: F811
    """Rules only: this machine's kernel has no SCTP sockets, so SCTP traffic is not exercised."""
    maps = [{"hostPort": 9000, "containerPort": 5000, "protocol": "sctp"}]
    topo.plugin("ADD", portmap_conf(backend, maps, topo.prev_result("c1")), "c1").result()
    if backend == "iptables":
        saved = sh("iptables-save", "-t", "nat", ns=topo.host) + sh("ip6tables-save", "-t", "nat", ns=topo.host)
        assert saved.count("-p sctp -m sctp --dport 9000 -j DNAT") == 2, saved
    else:
        rules = sh("nft", "list", "ruleset", ns=topo.host)
        assert rules.count("sctp dport 9000 dnat to") == 2, rules
    assert topo.plugin("CHECK", portmap_conf(backend, maps, topo.prev_result("c1")), "c1").ok
    assert topo.plugin("DEL", portmap_conf(backend, [], topo.prev_result("c1")), "c1").ok
    assert "9000" not in ruleset(topo.host)
