"""loopback through the real executable, in throwaway namespaces, for every supported version."""

from __future__ import annotations

import pytest

from libcni import version as ver
from tests.cni import ip_json, run_plugin, sh

pytestmark = pytest.mark.root


def lo_state(ns: str) -> dict:
    return ip_json("addr", "show", "dev", "lo", ns=ns)[0]


def conf(version: str, **extra) -> dict:
    return {"cniVersion": version, "name": "lotest", "type": "loopback", **extra}


@pytest.mark.parametrize("version", ver.ALL)
def test_add_check_del_every_version(pycni_bin, netns, version):
    host, ctr = netns.new("host"), netns.new("ctr", loopback_up=False)
    path = netns.path(ctr)
    assert "UP" not in lo_state(ctr)["flags"]
    call = dict(container_id="lo-c1", netns=path, ifname="eth0", host_ns=host)

    result = run_plugin("loopback", "ADD", conf(version), **call).result()
    assert result["cniVersion"] == version  # the Go plugin's version bug is fixed
    assert "UP" in lo_state(ctr)["flags"]
    if version in ver.G020:
        assert result["ip4"]["ip"] == "127.0.0.1/8"
        assert result["ip6"]["ip"] == "::1/128"
    else:
        assert result["interfaces"] == [{"name": "lo", "mac": "00:00:00:00:00:00", "sandbox": path}]
        addrs = [ip["address"] for ip in result["ips"]]
        assert addrs == ["127.0.0.1/8", "::1/128"]
        assert all(ip["interface"] == 0 for ip in result["ips"])
        assert ("version" in result["ips"][0]) == (version in ver.G040)
    sh("ping", "-c", "1", "-W", "2", "127.0.0.1", ns=ctr)

    if ver.at_least(version, "0.4.0"):
        run_plugin("loopback", "CHECK", conf(version, prevResult=result), **call).silent_success()

    del_run = run_plugin("loopback", "DEL", conf(version), **call)
    assert del_run.returncode == 0 and del_run.stdout == ""
    assert "UP" not in lo_state(ctr)["flags"]

    if ver.at_least(version, "0.4.0"):
        doc = run_plugin("loopback", "CHECK", conf(version, prevResult=result), **call).error()
        assert doc["msg"] == "loopback interface is down"
    if version == "1.1.0":
        for command in ("GC", "STATUS"):
            run = run_plugin("loopback", command, conf(version), host_ns=host)
            assert run.returncode == 0 and run.stdout == ""


@pytest.mark.parametrize("version", ["0.3.1", "1.0.0", "1.1.0"])
def test_prev_result_passes_through_in_config_version(pycni_bin, netns, version):
    host, ctr = netns.new("host"), netns.new("ctr")
    prev = {
        "cniVersion": version,
        "interfaces": [{"name": "eth0", "sandbox": netns.path(ctr)}],
        "ips": [{"address": "10.9.0.2/24", "interface": 0}],
    }
    if version in ver.G040:
        prev["ips"][0]["version"] = "4"
    out = run_plugin(
        "loopback",
        "ADD",
        conf(version, prevResult=prev),
        container_id="c",
        netns=netns.path(ctr),
        ifname="eth0",
        host_ns=host,
    ).result()
    assert out["cniVersion"] == version
    assert out["ips"] == prev["ips"] and out["interfaces"] == prev["interfaces"]


def test_non_loopback_address_on_lo_is_an_error(pycni_bin, netns):
    host, ctr = netns.new("host"), netns.new("ctr")
    sh("ip", "addr", "add", "10.99.0.1/32", "dev", "lo", ns=ctr)
    doc = run_plugin(
        "loopback", "ADD", conf("1.0.0"), container_id="c", netns=netns.path(ctr), ifname="eth0", host_ns=host
    ).error()
    assert doc["msg"] == "loopback interface found with non-loopback address"
    assert doc["details"] == "10.99.0.1/32"


def test_del_when_netns_is_gone_or_empty_succeeds(pycni_bin, netns, tmp_path):
    host, ctr = netns.new("host"), netns.new("ctr")
    path = netns.path(ctr)
    netns.delete(ctr)
    for ns_path in (path, ""):
        run = run_plugin("loopback", "DEL", conf("1.0.0"), container_id="c", netns=ns_path, ifname="eth0", host_ns=host)
        assert run.returncode == 0 and run.stdout == "", run.stdout


def test_add_into_missing_or_fake_netns_is_code_8(pycni_bin, netns, tmp_path):
    host = netns.new("host")
    plain = tmp_path / "not-a-netns"
    plain.write_text("")
    for ns_path, detail in (
        (str(tmp_path / "missing"), "failed to open netns"),
        (str(plain), "is not a network namespace"),
    ):
        doc = run_plugin(
            "loopback", "ADD", conf("1.0.0"), container_id="c", netns=ns_path, ifname="eth0", host_ns=host
        ).error()
        assert doc["code"] == 8 and detail in doc["msg"]


def test_self_netns_guard_and_override(pycni_bin, netns):
    host = netns.new("host", loopback_up=False)
    call = dict(container_id="c", netns=netns.path(host), ifname="eth0", host_ns=host)
    doc = run_plugin("loopback", "ADD", conf("1.0.0"), **call).error()
    assert (doc["code"], doc["msg"]) == (8, "plugin's netns and netns from CNI_NETNS should not be the same")
    assert "UP" not in lo_state(host)["flags"]  # checked before acting, unlike Go's skel
    assert run_plugin("loopback", "DEL", conf("1.0.0"), **call).error()["code"] == 8
    for value in ("1", "true", "TRUE"):
        run_plugin("loopback", "ADD", conf("1.0.0"), env={"CNI_NETNS_OVERRIDE": value}, **call).result()
    assert "UP" in lo_state(host)["flags"]
