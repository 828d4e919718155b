"""portmap pure logic: config validation, rule text of both backends, save parsing, conntrack batch."""

from __future__ import annotations

import pytest

from cni.portmap.config import container_ips, load_conf
from libcni.errors import InvalidConfig
from libcni.portmapper import conntrack, iptables, nftables
from libcni.portmapper.model import Forward, MasqOptions, PortMapping, dnat_chain_name
from libcni.types import Result

PREV = {
    "cniVersion": "1.0.0",
    "interfaces": [{"name": "br0"}, {"name": "eth0", "sandbox": "/run/netns/x"}],
    "ips": [
        {"address": "10.1.0.9/16", "interface": 0},
        {"address": "10.2.0.5/24", "interface": 1},
        {"address": "fd00::5/64", "interface": 1},
        {"address": "10.2.0.6/24", "interface": 1},
    ],
}


def _conf(maps: list | None = None, **extra) -> dict:
    conf = {"cniVersion": "1.0.0", "name": "net", "type": "portmap", "prevResult": PREV, "backend": "iptables"}
    conf["runtimeConfig"] = {"portMappings": maps if maps is not None else []}
    conf.update(extra)
    return conf


def test_defaults_and_normalisation() -> None:
    conf = load_conf(
        _conf(
            [
                {"hostPort": 80, "containerPort": 8080, "protocol": "UDP", "hostIP": "0.0.0.0"},
                {"hostPort": 81, "containerPort": 81},
            ]
        )
    )
    assert conf.masq == MasqOptions(snat=True, masq_all=False, mark_bit=13, external_set_mark_chain="")
    assert conf.mappings == (PortMapping(80, 8080, "udp", ""), PortMapping(81, 81, "tcp", ""))


def test_forwards_pick_first_ip_per_family_on_the_sandbox_interface() -> None:
    assert container_ips(Result.from_json(PREV), "eth0") == {4: "10.2.0.5/24", 6: "fd00::5/64"}
    maps = [{"hostPort": 80, "containerPort": 80, "hostIP": "fd00::1"}, {"hostPort": 81, "containerPort": 81}]
    fwds = load_conf(_conf(maps, conditionsV6=["-s", "fd00::/8"])).forwards("cid", "eth0")
    assert [(f.family, f.container_ip, f.container_net, len(f.mappings), f.conditions) for f in fwds] == [
        (4, "10.2.0.5", "10.2.0.0/24", 1, ()),
        (6, "fd00::5", "fd00::/64", 2, ("-s", "fd00::/8")),
    ]


@pytest.mark.parametrize(
    "extra",
    [
        {"markMasqBit": -1},
        {"markMasqBit": True},
        {"snat": "yes"},
        {"conditionsV4": "-s 1.2.3.4"},
        {"conditionsV6": ["ip6", "saddr", "::1;", "drop"], "backend": "nftables"},
        {"backend": "nftables", "externalSetMarkChain": "X"},
    ],
)
def test_bad_options(extra: dict) -> None:
    with pytest.raises(InvalidConfig):
        load_conf(_conf(**extra))


def test_backend_default_follows_availability(monkeypatch, tmp_path) -> None:
    conf = _conf()
    del conf["backend"]
    (tmp_path / "nft").write_text("")
    (tmp_path / "nft").chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert load_conf(conf).backend == "nftables"
    (tmp_path / "iptables-restore").write_text("")
    (tmp_path / "iptables-restore").chmod(0o755)
    assert load_conf(conf).backend == "iptables"


def _fwd(family: int = 4, mappings: tuple = (PortMapping(80, 8080, "tcp"),), **masq) -> Forward:
    ip, net = ("10.2.0.5", "10.2.0.0/24") if family == 4 else ("fd00::5", "fd00::/64")
    return Forward("net", "cid", family, ip, net, mappings, MasqOptions(**masq))


def test_iptables_chain_rules_v4_v6_and_masq_all() -> None:
    m = (PortMapping(80, 8080, "tcp"), PortMapping(53, 53, "udp", "10.0.0.1"))
    assert iptables.chain_rules(_fwd(4, m)) == [
        "-s 10.2.0.0/24 -p tcp -m tcp --dport 80 -j CNI-HOSTPORT-SETMARK",
        "-s 127.0.0.1/32 -p tcp -m tcp --dport 80 -j CNI-HOSTPORT-SETMARK",
        "-p tcp -m tcp --dport 80 -j DNAT --to-destination 10.2.0.5:8080",
        "-s 10.2.0.0/24 -d 10.0.0.1/32 -p udp -m udp --dport 53 -j CNI-HOSTPORT-SETMARK",
        "-s 127.0.0.1/32 -d 10.0.0.1/32 -p udp -m udp --dport 53 -j CNI-HOSTPORT-SETMARK",
        "-d 10.0.0.1/32 -p udp -m udp --dport 53 -j DNAT --to-destination 10.2.0.5:53",
    ]
    assert iptables.chain_rules(_fwd(6, masq_all=True, external_set_mark_chain="KUBE-MARK-MASQ")) == [
        "-p tcp -m tcp --dport 80 -j KUBE-MARK-MASQ",
        "-p tcp -m tcp --dport 80 -j DNAT --to-destination [fd00::5]:8080",
    ]
    assert iptables.chain_rules(_fwd(4, snat=False)) == [
        "-p tcp -m tcp --dport 80 -j DNAT --to-destination 10.2.0.5:8080"
    ]


def test_iptables_entry_rules_group_15_ports_per_protocol() -> None:
    maps = tuple(PortMapping(1000 + i, 80, "udp" if i % 2 else "tcp") for i in range(40))
    rules = iptables.entry_rules(_fwd(4, maps))
    assert [r.split("--dports ")[1].split()[0].count(",") + 1 for r in rules] == [15, 5, 15, 5]
    assert [r.split()[1] for r in rules] == ["tcp", "tcp", "udp", "udp"]
    assert rules[0].startswith(
        '-p tcp -m comment --comment "dnat name: \\"net\\" id: \\"cid\\"" -m multiport --dports 1000,1002,'
    )
    assert rules[0].endswith(f" -j {dnat_chain_name('net', 'cid')}")


def test_comment_is_cut_like_go_and_chain_name_is_28_chars() -> None:
    text = iptables.dnat_comment("n" * 300, "c")
    assert len(text) == 256 and text.endswith("...")
    assert len(dnat_chain_name("net", "cid")) == 28 and dnat_chain_name("net", "cid").startswith("CNI-DN-")
    assert iptables.quote("a b") == '"a b"' and iptables.quote('x"y') == '"x\\"y"' and iptables.quote("tcp") == "tcp"


SAVE = """*raw
:PREROUTING ACCEPT [0:0]
-A PREROUTING -j CT --notrack
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:CNI-HOSTPORT-DNAT - [0:0]
:CNI-DN-abc - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-A CNI-HOSTPORT-DNAT -p udp -m comment --comment "x" -m multiport --dports 53 -j CNI-DN-abc
-A CNI-HOSTPORT-DNAT -p tcp -m multiport --dports 80 -j CNI-DN-abcd
-A CNI-DN-abc -p udp -m udp --dport 53 -j DNAT --to-destination 10.0.0.2:53
COMMIT
"""


def test_save_parsing_and_removal_only_touch_the_named_chain() -> None:
    nat = iptables.Table(SAVE, "nat")
    assert set(nat.chains) == {"PREROUTING", "CNI-HOSTPORT-DNAT", "CNI-DN-abc"}
    assert nat.jumps_to("CNI-DN-abc") == [
        ("CNI-HOSTPORT-DNAT", '-p udp -m comment --comment "x" -m multiport --dports 53 -j CNI-DN-abc')
    ]
    assert iptables._removal(nat, "CNI-DN-abc")[-2:] == ["-F CNI-DN-abc", "-X CNI-DN-abc"]
    assert iptables._removal(nat, "CNI-DN-gone") == []
    assert iptables.Table(SAVE, "raw").rules("PREROUTING") == ["-j CT --notrack"]


def test_nft_rules_carry_container_id_and_conditions_per_rule() -> None:
    fwd = Forward(
        "net",
        "cid",
        4,
        "10.2.0.5",
        "10.2.0.0/24",
        (PortMapping(80, 8080, "tcp", "10.0.0.1"),),
        MasqOptions(),
        ("iifname", "eth0"),
    )
    rules = nftables.forward_rules(fwd)
    assert (
        rules[0]
        == "add rule ip cni_hostport hostports iifname eth0 ip daddr 10.0.0.1 tcp dport 80 "
        'dnat to 10.2.0.5:8080 comment "cid"'
    )
    assert "ip saddr 10.2.0.0/24 ip daddr 10.2.0.5 ct status dnat masquerade" in rules[1]
    assert "ip saddr 127.0.0.1 ip daddr 10.2.0.5 masquerade" in rules[2]
    assert rules[3] == 'add rule ip cni_hostport owners ip daddr 10.2.0.5 return comment "net/cid"'
    six = nftables.forward_rules(_fwd(6, masq_all=True))
    assert "dnat to [fd00::5]:8080" in six[0] and "ip6 saddr ::/0 ip6 daddr fd00::5" in six[1] and len(six) == 3
    assert len(nftables.owner_tag("n" * 100, "c" * 64).encode()) <= 127


def test_nft_ownership_matches_container_id_and_ip() -> None:
    from libcni.portmapper.model import Owner

    rule = {"chain": "hostports", "comment": "cid", "expr": [{"dnat": {"addr": "10.2.0.5", "port": 80}}]}
    assert nftables._owned(rule, Owner("net", "cid"), "net/cid")
    assert nftables._owned(rule, Owner("net", "cid", ("10.2.0.5",)), "net/cid")
    assert not nftables._owned(rule, Owner("net", "cid", ("10.9.9.9",)), "net/cid")  # another network's IP
    assert not nftables._owned(rule, Owner("net", "other"), "net/other")


def test_conntrack_batch_is_one_line_per_port_and_family() -> None:
    assert conntrack.batch({6: {53}, 4: {5353, 53}}) == (
        "-D -p udp --orig-port-dst 53 -f ipv4\n"
        "-D -p udp --orig-port-dst 5353 -f ipv4\n"
        "-D -p udp --orig-port-dst 53 -f ipv6\n"
    )
    assert conntrack.batch({4: set()}) == ""
