"""portmap bad input and the no-op paths: clear code-7 errors, nothing written, prevResult passed through."""

from __future__ import annotations

import pytest

from tests.cni import run_plugin, sh

pytestmark = pytest.mark.root

PREV = {
    "cniVersion": "0.4.0",
    "interfaces": [{"name": "eth0", "sandbox": "/run/netns/x"}],
    "ips": [{"version": "4", "address": "10.98.0.2/24", "interface": 0}],
}
MAP = {"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}


def _conf(**extra) -> dict:
    conf = {"cniVersion": "0.4.0", "name": "pmnet", "type": "portmap", "prevResult": PREV}
    conf["runtimeConfig"] = {"portMappings": [MAP]}
    conf.update(extra)
    return {k: v for k, v in conf.items() if v is not None}


def _without_empty_dns(result: dict) -> dict:
    """0.4.0 results print an empty dns object, as Go's do."""
    assert result.pop("dns", {}) == {}
    return result


def _nothing_written(ns: str) -> None:
    assert "CNI-" not in sh("iptables-save", ns=ns) + sh("ip6tables-save", ns=ns)
    assert "cni_hostport" not in sh("nft", "list", "ruleset", ns=ns)


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"prevResult": None}, "chained plugin"),
        ({"backend": "ebpf"}, "unrecognized backend"),
        ({"markMasqBit": 32}, "markMasqBit"),
        ({"markMasqBit": 5, "externalSetMarkChain": "KUBE-MARK-MASQ"}, "externalSetMarkChain"),
        ({"backend": "nftables", "markMasqBit": 5}, "iptables-specific"),
        ({"backend": "nftables", "conditionsV4": ["-s", "1.2.3.4"]}, "iptables-specific"),
        ({"backend": "iptables", "conditionsV4": ["ip", "saddr", "1.2.3.4"]}, "nftables-specific"),
        ({"conditionsV4": ["-s", "1.2.3.4\n-A INPUT -j DROP"]}, "newline"),
        ({"runtimeConfig": {"portMappings": [MAP | {"hostPort": 70000}]}}, "portMappings[0].hostPort"),
        ({"runtimeConfig": {"portMappings": [MAP | {"containerPort": 0}]}}, "portMappings[0].containerPort"),
        ({"runtimeConfig": {"portMappings": [MAP | {"protocol": "icmp"}]}}, "protocol"),
        ({"runtimeConfig": {"portMappings": [MAP | {"hostIP": "300.1.1.1"}]}}, "hostIP"),
        ({"runtimeConfig": {"portMappings": [MAP | {"hostPort": "80"}]}}, "hostPort"),
    ],
)
def test_bad_config_is_code_7_and_writes_nothing(netns, extra: dict, words: str) -> None:
    host = netns.new("h")
    res = run_plugin(
        "portmap", "ADD", _conf(**extra), container_id="c1", netns="/run/netns/x", ifname="eth0", host_ns=host
    )
    err = res.error()
    assert err["code"] == 7 and words in err["msg"], err
    _nothing_written(host)


@pytest.mark.parametrize("version", ["0.4.0", "1.0.0"])
def test_no_mappings_prints_prev_result_and_writes_nothing(netns, version: str) -> None:
    host = netns.new("h")
    prev = dict(PREV, cniVersion=version)
    if version != "0.4.0":
        prev["ips"] = [{"address": "10.98.0.2/24", "interface": 0}]
    conf = _conf(cniVersion=version, prevResult=prev, runtimeConfig={})
    res = run_plugin("portmap", "ADD", conf, container_id="c1", netns="/run/netns/x", ifname="eth0", host_ns=host)
    assert _without_empty_dns(res.result()) == prev
    _nothing_written(host)
    # DEL with nothing to delete, twice, in both backends: success, still nothing written.
    for backend in ("iptables", "nftables"):
        for _ in range(2):
            conf = _conf(cniVersion=version, backend=backend, prevResult=None)
            assert run_plugin("portmap", "DEL", conf, container_id="c1", ifname="eth0", host_ns=host).ok
    _nothing_written(host)


def test_mappings_but_no_ip_on_ifname_is_a_no_op(netns) -> None:
    host = netns.new("h")
    res = run_plugin("portmap", "ADD", _conf(), container_id="c1", netns="/run/netns/x", ifname="eth1", host_ns=host)
    assert _without_empty_dns(res.result()) == PREV
    _nothing_written(host)


def test_no_host_route_to_the_container_is_not_an_add_failure(netns) -> None:
    """As the reference: without a route to the container there is no interface for route_localnet;
    ADD still installs the DNAT rules (the bench's bare portmap section runs like this)."""
    host = netns.new("h")
    res = run_plugin("portmap", "ADD", _conf(), container_id="c1", netns="/run/netns/x", ifname="eth0", host_ns=host)
    assert _without_empty_dns(res.result())["ips"] == PREV["ips"]
    assert "no host route to 10.98.0.2" in res.stderr
    assert "--to-destination 10.98.0.2:80" in sh("iptables-save", "-t", "nat", ns=host)
    run_plugin("portmap", "DEL", _conf(), container_id="c1", netns="/run/netns/x", ifname="eth0", host_ns=host)
    assert "CNI-DN-" not in sh("iptables-save", "-t", "nat", ns=host)


@pytest.mark.parametrize("backend", ["iptables", "nftables"])
def test_gc_reads_the_legacy_key_and_rejects_a_malformed_list(netns, backend: str) -> None:
    host = netns.new("h")
    conf = _conf(backend=backend, cniVersion="1.1.0", prevResult=dict(PREV, cniVersion="1.1.0"))
    conf["prevResult"]["ips"] = [{"address": "10.98.0.2/24", "interface": 0}]
    run_plugin("portmap", "ADD", conf, container_id="c1", netns="/run/netns/x", ifname="eth0", host_ns=host).result()

    def rules() -> str:
        text = sh("iptables-save", "-t", "nat", ns=host) + sh("nft", "list", "ruleset", ns=host)
        return "\n".join(line for line in text.splitlines() if not line.startswith("#"))  # no timestamps

    before = rules()
    assert "10.98.0.2" in before
    gc = {"cniVersion": "1.1.0", "name": "pmnet", "type": "portmap", "backend": backend}
    for bad in ("c1", [{"ifname": "eth0"}], {"containerID": "c1"}):
        doc = run_plugin("portmap", "GC", {**gc, "cni.dev/valid-attachments": bad}, host_ns=host).error()
        assert doc["code"] == 7, doc
    assert rules() == before
    legacy = {**gc, "cni.dev/attachments": [{"containerID": "c1", "ifname": "eth0"}]}
    run_plugin("portmap", "GC", legacy, host_ns=host).silent_success()
    assert "10.98.0.2" in rules()
    run_plugin("portmap", "GC", {**gc, "cni.dev/attachments": None}, host_ns=host).silent_success()
    assert "10.98.0.2" not in rules()
