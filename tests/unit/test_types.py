"""Result model and version conversion: every pair of supported versions, per cni-spec.md §3.2."""

from __future__ import annotations

import itertools

import pytest

from libcni import version as ver
from libcni.errors import CNIError, DecodingFailure
from libcni.types import DNS, Interface, IPConfig, Result, Route, parse_prev_result


def rich_result() -> Result:
    return Result(
        cni_version="1.1.0",
        interfaces=[
            Interface(name="cni0", mac="aa:bb:cc:dd:ee:01"),
            Interface(
                name="eth0",
                mac="aa:bb:cc:dd:ee:02",
                sandbox="/run/netns/x",
                mtu=1400,
                socket_path="/s",
                pci_id="0000:01:00.0",
            ),
        ],
        ips=[
            IPConfig(address="10.1.0.5/16", gateway="10.1.0.1", interface=1),
            IPConfig(address="10.1.0.6/16", interface=1),
            IPConfig(address="2001:db8::5/64", gateway="2001:db8::1", interface=1),
        ],
        routes=[
            Route(dst="0.0.0.0/0", gw="10.1.0.1", mtu=1300, advmss=1200, priority=5, table=100, scope=0),
            Route(dst="::/0"),
        ],
        dns=DNS(nameservers=["10.1.0.1"], domain="example.org", search=["a.example.org"], options=["ndots:2"]),
    )


def test_1_1_shape_and_key_order():
    doc = rich_result().to_json("1.1.0")
    assert list(doc) == ["cniVersion", "interfaces", "ips", "routes", "dns"]
    assert list(doc["interfaces"][1]) == ["name", "mac", "mtu", "sandbox", "socketPath", "pciID"]
    assert doc["ips"][0] == {"interface": 1, "address": "10.1.0.5/16", "gateway": "10.1.0.1"}
    assert doc["routes"][0] == {
        "dst": "0.0.0.0/0",
        "gw": "10.1.0.1",
        "mtu": 1300,
        "advmss": 1200,
        "priority": 5,
        "table": 100,
        "scope": 0,
    }
    assert doc["routes"][1] == {"dst": "::/0"}


def test_1_0_keeps_1_1_extras_like_go():
    doc = rich_result().to_json("1.0.0")
    assert doc["interfaces"][1]["mtu"] == 1400 and doc["routes"][0]["table"] == 100


def test_0_4_adds_version_drops_interface_extras_keeps_route_extras():
    doc = rich_result().to_json("0.4.0")
    assert doc["ips"][0] == {"version": "4", "interface": 1, "address": "10.1.0.5/16", "gateway": "10.1.0.1"}
    assert doc["ips"][2]["version"] == "6"
    assert doc["interfaces"][1] == {"name": "eth0", "mac": "aa:bb:cc:dd:ee:02", "sandbox": "/run/netns/x"}
    assert doc["routes"][0]["advmss"] == 1200


def test_0_2_keeps_first_ip_per_family_and_their_routes():
    doc = rich_result().to_json("0.2.0")
    assert doc == {
        "cniVersion": "0.2.0",
        "ip4": {"ip": "10.1.0.5/16", "gateway": "10.1.0.1", "routes": [{"dst": "0.0.0.0/0", "gw": "10.1.0.1"}]},
        "ip6": {"ip": "2001:db8::5/64", "gateway": "2001:db8::1", "routes": [{"dst": "::/0"}]},
        "dns": {
            "nameservers": ["10.1.0.1"],
            "domain": "example.org",
            "search": ["a.example.org"],
            "options": ["ndots:2"],
        },
    }


def test_0_x_always_has_dns_and_1_x_omits_empty_dns():
    r = Result(ips=[IPConfig(address="10.0.0.2/24")])
    assert r.to_json("0.3.1")["dns"] == {}
    assert "dns" not in r.to_json("1.0.0")
    assert r.to_json("0.1.0")["dns"] == {}


def test_to_020_without_ips_is_an_error():
    with pytest.raises(CNIError, match="no valid IP addresses"):
        Result(interfaces=[Interface(name="lo")]).to_json("0.2.0")


def test_route_of_dropped_family_is_dropped_in_020():
    r = Result(ips=[IPConfig(address="10.0.0.2/24")], routes=[Route(dst="::/0", gw="fe80::1"), Route(dst="0.0.0.0/0")])
    assert r.to_json("0.1.0")["ip4"]["routes"] == [{"dst": "0.0.0.0/0"}]
    assert "ip6" not in r.to_json("0.1.0")


@pytest.mark.parametrize("src,dst", list(itertools.product(ver.ALL, ver.ALL)))
def test_every_pair_of_versions_converts(src, dst):
    """Write as src, read back, write as dst: the dst document equals direct conversion rules."""
    as_src = rich_result().to_json(src)
    parsed = Result.from_json(as_src)
    assert parsed.cni_version == src
    out = parsed.to_json(dst)
    assert out["cniVersion"] == dst
    expected = rich_result().converted(src).to_json(dst)
    assert out == expected
    if ver.group_of(src) == ver.group_of(dst):
        # Inside a group only cniVersion changes.
        assert {k: v for k, v in out.items() if k != "cniVersion"} == {
            k: v for k, v in as_src.items() if k != "cniVersion"
        }
    if src in ver.G020 and dst not in ver.G020:
        assert "interfaces" not in out
        assert all("interface" not in ip for ip in out["ips"])
        assert [ip["address"] for ip in out["ips"]] == ["10.1.0.5/16", "2001:db8::5/64"]
        assert out["routes"] == [{"dst": "0.0.0.0/0", "gw": "10.1.0.1"}, {"dst": "::/0"}]
    if src in ver.G100 and dst in ver.G040:
        assert "mtu" not in out["interfaces"][1] and out["routes"][0]["table"] == 100


def test_missing_version_reads_as_0_1_0_and_addresses_are_canonical():
    r = Result.from_json({"ip4": {"ip": "10.0.0.2/24"}, "ip6": {"ip": "2001:DB8:0::2/64"}})
    assert r.cni_version == "0.1.0"
    assert [ip.address for ip in r.ips] == ["10.0.0.2/24", "2001:db8::2/64"]


@pytest.mark.parametrize(
    "doc",
    [
        {"cniVersion": "9.9.9"},
        {"cniVersion": "1.0.0", "ips": [{"address": "not-an-ip"}]},
        {"cniVersion": "1.0.0", "ips": "x"},
        {"cniVersion": "1.0.0", "routes": [{"dst": "10.0.0.0/8", "gw": "nope"}]},
        {"cniVersion": "1.1.0", "routes": [{"dst": "10.0.0.0/8", "mtu": -1}]},
        "not an object",
    ],
)
def test_bad_results_are_decoding_failures(doc):
    with pytest.raises(DecodingFailure):
        Result.from_json(doc)


def test_unknown_target_version_is_an_error():
    with pytest.raises(CNIError, match="no converter"):
        rich_result().to_json("2.0.0")


def test_prev_result_takes_config_version_and_rejects_other_groups():
    prev = parse_prev_result({"ips": [{"address": "10.0.0.2/24"}]}, "1.0.0")
    assert prev is not None and prev.cni_version == "1.0.0"
    prev = parse_prev_result({"cniVersion": "0.3.1", "ips": [{"version": "4", "address": "10.0.0.2/24"}]}, "0.4.0")
    assert prev is not None and prev.cni_version == "0.4.0"
    assert parse_prev_result(None, "1.0.0") is None
    with pytest.raises(DecodingFailure):
        parse_prev_result({"cniVersion": "0.4.0", "ips": []}, "1.0.0")
