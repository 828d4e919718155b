"""host-local config: every source of ranges and requested IPs, in the reference's order, and its checks."""

from __future__ import annotations

import pytest

from libcni.errors import CNIError, InvalidConfig
from libcni.ipam.conf import DEFAULT_DATA_DIR, load_conf, parse_resolv_conf


def conf(ipam: dict | None = None, version: str = "1.0.0", **top) -> dict:
    doc = {"cniVersion": version, "name": "hlnet", "type": "bridge", **top}
    if ipam is not None:
        doc["ipam"] = {"type": "host-local", **ipam}
    return doc


def subnets(parsed) -> list[list[str]]:
    return [[str(r.subnet) for r in rs.ranges] for rs in parsed.range_sets]


def test_range_set_order_runtime_then_legacy_then_ranges():
    parsed = load_conf(
        conf(
            {"subnet": "10.2.0.0/24", "ranges": [[{"subnet": "10.3.0.0/24"}], [{"subnet": "fd00::/64"}]]},
            runtimeConfig={"ipRanges": [[{"subnet": "10.1.0.0/24"}]]},
        )
    )
    assert subnets(parsed) == [["10.1.0.0/24"], ["10.2.0.0/24"], ["10.3.0.0/24"], ["fd00::/64"]]
    assert parsed.data_dir == DEFAULT_DATA_DIR
    assert parsed.name == "hlnet"


def test_args_ips_win_over_cni_args_and_runtime_ips_are_added():
    base = {"ranges": [[{"subnet": "10.1.0.0/24"}], [{"subnet": "fd00::/64"}]]}
    with_args = conf(base, args={"cni": {"ips": ["10.1.0.7/24"]}}, runtimeConfig={"ips": ["fd00::7"]})
    parsed = load_conf(with_args, "IgnoreUnknown=1;IP=10.1.0.9;K8S_POD_NAME=x")
    assert [str(a) for a in parsed.requested] == ["10.1.0.7", "fd00::7"]
    parsed = load_conf(conf(base), "IP=10.1.0.9")
    assert [str(a) for a in parsed.requested] == ["10.1.0.9"]


def test_unknown_cni_args_are_refused_like_the_reference():
    with pytest.raises(CNIError, match="unknown args"):
        load_conf(conf({"subnet": "10.1.0.0/24"}), "FOO=bar")


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        (conf(None), "missing 'ipam'"),
        (conf({}), "no IP ranges specified"),
        (conf({"ranges": [[{"subnet": "10.0.0.0/24"}], [{"subnet": "10.0.0.128/25"}]]}), "range set 0 overlaps with 1"),
        (conf({"ranges": [[{"subnet": "10.0.0.0/24"}, {"subnet": "fd00::/64"}]]}), "mixed address families"),
        (conf({"ranges": [[{"subnet": "10.0.0.1/24"}]]}), "host bits set"),
        (conf({"ranges": [[{"subnet": "10.0.0.0/24"}], [{"subnet": "10.1.0.0/24"}]]}, "0.2.0"), "more than 1 address"),
        (conf({"ranges": [[]]}), "non-empty list"),
        (conf({"ranges": "10.0.0.0/24"}), "ipam.ranges"),
        (conf({"subnet": "10.0.0.0/24", "routes": [{"dst": "bogus"}]}), "routes"),
        (conf({"subnet": "10.0.0.0/24", "lockTimeout": 0}), "lockTimeout"),
        (conf({"subnet": "10.0.0.0/24"}, args={"cni": {"ips": ["not-an-ip"]}}), "invalid IP"),
    ],
)
def test_invalid_configs_are_code_7(doc, needle):
    with pytest.raises(InvalidConfig) as err:
        load_conf(doc)
    assert needle in str(err.value)
    assert err.value.code == 7


def test_two_sets_of_one_family_are_fine_from_0_3_0():
    parsed = load_conf(conf({"ranges": [[{"subnet": "10.0.0.0/24"}], [{"subnet": "10.1.0.0/24"}]]}, "0.3.0"))
    assert len(parsed.range_sets) == 2


def test_del_and_gc_do_not_need_ranges():
    assert load_conf(conf({"dataDir": "/x"}), need_ranges=False).range_sets == ()


def test_resolv_conf_parsing(tmp_path):
    path = tmp_path / "resolv.conf"
    path.write_text(
        "# comment\n; other comment\nnameserver 10.0.0.53\nnameserver fd00::53\n"
        "domain example.com\nsearch a.example b.example\noptions ndots:2 edns0\noptions rotate\nbogus\n"
    )
    dns = parse_resolv_conf(str(path))
    assert dns.nameservers == ["10.0.0.53", "fd00::53"]
    assert dns.domain == "example.com"
    assert dns.search == ["a.example", "b.example"]
    assert dns.options == ["ndots:2", "edns0", "rotate"]
