"""bridge's pure logic: config parsing and validation, gateways, VLAN entries, ipMasq naming and
iptables-save parsing, and the promise that VERSION and config errors never import pyroute2."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from cni.bridge.config import load_conf, parse_trunk
from libcni.errors import CNIError, InvalidConfig
from libcni.ipmasq import iptables, nftables
from libcni.types import IPConfig, Result, Route

BASE = {"cniVersion": "1.0.0", "name": "net1", "type": "bridge"}


def conf(**keys):
    return {**BASE, **keys}


def test_defaults():
    c = load_conf(conf())
    assert (c.bridge, c.is_gateway, c.ip_masq, c.mtu, c.vlan, c.vlan_trunk, c.mac) == (
        "cni0",
        False,
        False,
        0,
        0,
        (),
        "",
    )
    assert not c.is_layer3 and not c.preserve_default_vlan


def test_default_gateway_implies_gateway():
    c = load_conf(conf(isDefaultGateway=True))
    assert c.is_gateway and c.is_default_gateway


def test_trunk_sorted_deduplicated():
    assert parse_trunk([{"id": 5}, {"minID": 3, "maxID": 6}, {"id": 4}]) == (3, 4, 5, 6)


@pytest.mark.parametrize(
    "trunk, text",
    [
        ([{"minID": 0, "maxID": 3}], "minID"),
        ([{"minID": 3}], "simultaneously"),
        ([{"maxID": 3}], "simultaneously"),
        ([{"minID": 9, "maxID": 3}], "greater"),
        ([{"id": 4095}], "id"),
        ([{}], "needs id"),
        ({"id": 1}, "vlanTrunk"),
    ],
)
def test_trunk_errors(trunk, text):
    with pytest.raises(InvalidConfig, match=text):
        parse_trunk(trunk)


def test_mac_precedence_and_format():
    raw = "IgnoreUnknown=1;K8S_POD_NAME=x;MAC=0A-58-00-00-00-01"
    assert load_conf(conf(), raw).mac == "0a:58:00:00:00:01"
    assert load_conf(conf(args={"cni": {"mac": "0a:58:00:00:00:02"}}), raw).mac == "0a:58:00:00:00:02"
    both = conf(args={"cni": {"mac": "0a:58:00:00:00:02"}}, runtimeConfig={"mac": "0a:58:00:00:00:03"})
    assert load_conf(both, raw).mac == "0a:58:00:00:00:03"
    with pytest.raises(InvalidConfig, match="invalid MAC"):
        load_conf(conf(runtimeConfig={"mac": "0a:58:00:00:00"}))
    with pytest.raises(CNIError, match="unknown args"):
        load_conf(conf(), "FOO=1")


@pytest.mark.parametrize(
    "keys, text",
    [
        ({"hairpinMode": True, "promiscMode": True}, "hairpin"),
        ({"disableContainerInterface": True, "ipam": {"type": "host-local"}}, "IPAM"),
        ({"vlan": -1}, "VLAN"),
        ({"mtu": -5}, "MTU"),
        ({"ipMasqBackend": "ebtables"}, "unknown ipmasq backend"),
        ({"bridge": "a-very-long-bridge-name"}, "bridge name"),
        ({"isGateway": "yes"}, "isGateway"),
    ],
)
def test_config_errors(keys, text):
    with pytest.raises(InvalidConfig, match=text):
        load_conf(conf(**keys))


def test_calc_gateways_and_default_routes():
    from cni.bridge.plugin import calc_gateways

    c = load_conf(conf(isDefaultGateway=True, ipam={"type": "host-local"}))
    result = Result(
        ips=[IPConfig("10.1.2.3/16"), IPConfig("fd00::5/64", gateway="fd00::fe")], routes=[Route("::/0", gw="fd00::fe")]
    )
    gws = calc_gateways(c, result)
    assert gws == {4: ["10.1.0.1/16"], 6: ["fd00::fe/64"]}
    assert [ip.interface for ip in result.ips] == [2, 2]
    assert result.ips[0].gateway == "10.1.0.1"
    # IPAM already gave a v6 default route with a gw: only the v4 one is added.
    assert [(r.dst, r.gw) for r in result.routes] == [("::/0", "fd00::fe"), ("0.0.0.0/0", "10.1.0.1")]


def test_no_gateway_without_is_gateway():
    from cni.bridge.plugin import calc_gateways

    result = Result(ips=[IPConfig("10.1.2.3/16")])
    assert calc_gateways(load_conf(conf(ipam={"type": "x"})), result) == {4: [], 6: []}
    assert result.ips[0].gateway == "" and result.routes == []


def test_vlan_entries_use_ranges_except_for_pvid():
    from libcni.nl.bridge import VLAN_PVID, VLAN_RANGE_BEGIN, VLAN_RANGE_END, VLAN_UNTAGGED, _entries

    assert _entries([7, 3, 4, 5, 9], 0) == [(VLAN_RANGE_BEGIN, 3), (VLAN_RANGE_END, 5), (0, 7), (0, 9)]
    flags = VLAN_PVID | VLAN_UNTAGGED
    assert _entries([10, 11], flags) == [(flags, 10), (flags, 11)]


def test_ipmasq_names_match_the_reference_layout():
    chain = iptables.chain_name("net1", "abc")
    assert chain.startswith("CNI-") and len(chain) == 28
    assert iptables.comment("net1", "abc") == 'name: "net1" id: "abc"'
    cmt = nftables.comment_for_instance("net1", "eth0", "abc")
    assert cmt.startswith(nftables.hash_for_network("net1") + "-") and cmt.endswith(", net: net1, if: eth0, id: abc")
    assert len(nftables.comment_for_instance("n", "eth0", "x" * 200)) == 128


SAVED = """*nat
:POSTROUTING ACCEPT [0:0]
:{a} - [0:0]
:{b} - [0:0]
-A POSTROUTING -s 10.0.0.2/32 -m comment --comment "name: \\"net1\\" id: \\"a\\"" -j {a}
-A POSTROUTING -s 10.0.0.3/32 -m comment --comment "name: \\"net1\\" id: \\"b\\"" -j {b}
-A POSTROUTING -s 10.0.0.0/24 -m comment --comment "name: \\"net1\\" id: \\"a\\"" -j {a}
-A {a} ! -d 224.0.0.0/4 -m comment --comment "name: \\"net1\\" id: \\"a\\"" -j MASQUERADE
COMMIT
"""


def test_iptables_removal_and_gc_selection():
    a, b = iptables.chain_name("net1", "a"), iptables.chain_name("net1", "b")
    saved = SAVED.format(a=a, b=b)
    lines = iptables._removal(saved, {a})
    assert lines[0].startswith("-D POSTROUTING -s 10.0.0.2/32") and lines[1].startswith("-D POSTROUTING -s 10.0.0.0/24")
    assert lines[2:] == [f"-F {a}", f"-X {a}"]
    assert iptables.stale_chains(saved, "net1", {"b"}) == {a}
    assert iptables.stale_chains(saved, "other", set()) == set()


def _run_entry(env: dict, stdin: bytes) -> tuple[dict, list[str]]:
    code = (
        "import sys, json\n"
        "from cni.bridge import plugin\n"
        "try:\n    plugin.main()\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write('\\nMODULES ' + json.dumps(sorted(m for m in sys.modules if m.startswith('pyroute2'))))\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=stdin,
        capture_output=True,
        cwd=root,
        env={"PATH": os.environ.get("PATH", ""), **env},
        timeout=30,
    )
    modules = json.loads(done.stderr.decode().rsplit("MODULES ", 1)[1])
    return json.loads(done.stdout), modules


def test_version_and_config_errors_do_not_import_pyroute2():
    doc, modules = _run_entry({"CNI_COMMAND": "VERSION"}, b"")
    assert "supportedVersions" in doc and modules == []
    env = {
        "CNI_COMMAND": "ADD",
        "CNI_CONTAINERID": "c1",
        "CNI_NETNS": "/proc/1/ns/net",
        "CNI_IFNAME": "eth0",
        "CNI_PATH": "/nonexistent",
    }
    doc, modules = _run_entry(env, json.dumps(conf(vlan=9999)).encode())
    assert doc["code"] == 7 and modules == []
