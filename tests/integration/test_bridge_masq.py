"""bridge ipMasq (both backends) with real traffic, DEL without a netns, macspoofchk, CHECK, GC, STATUS."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.cni import sh
from tests.integration.bridge_helpers import Env, assert_clean, make_env, veth_ports

pytestmark = pytest.mark.root

SERVER = (
    "import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1);"
    "s.bind(('0.0.0.0', 8080)); s.listen(); print('ready', flush=True); c, a = s.accept(); print(a[0], flush=True)"
)
CLIENT = "import socket; socket.create_connection(('192.168.77.2', 8080), timeout=3).close()"


@pytest.fixture
def env(netns, tmp_path) -> Env:
    return make_env(netns, tmp_path)


def _outside(env: Env) -> str:
    """A namespace routed through the host, with no route back to the container subnet."""
    out = env.netns.new("o")
    sh("ip", "link", "add", "brout0", "type", "veth", "peer", "name", "brout1", ns=env.host)
    sh("ip", "link", "set", "brout1", "netns", out, ns=env.host)
    sh("ip", "addr", "add", "192.168.77.1/24", "dev", "brout0", ns=env.host)
    sh("ip", "link", "set", "brout0", "up", ns=env.host)
    sh("ip", "addr", "add", "192.168.77.2/24", "dev", "brout1", ns=out)
    sh("ip", "link", "set", "brout1", "up", ns=out)
    return out


def _seen_source(out: str, ctr: str) -> str:
    server = subprocess.Popen(
        ["ip", "netns", "exec", out, sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout.readline().strip() == "ready"
        sh(sys.executable, "-c", CLIENT, ns=ctr)
        return server.stdout.readline().strip()
    finally:
        server.kill()
        server.wait()


@pytest.mark.parametrize("backend", ["iptables", "nftables"])
def test_ipmasq_traffic_and_del_after_netns_gone(pycni_bin, env, backend):
    out = _outside(env)
    ctr, path = env.container()
    conf = env.conf(subnet6="fd77::/64", isDefaultGateway=True, ipMasq=True, ipMasqBackend=backend)
    result = env.run("ADD", conf, "c1", path).result()
    assert _seen_source(out, ctr) == "192.168.77.1"  # masqueraded to the host's address
    if backend == "iptables":
        rules = env.nat_rules()
        assert '-A POSTROUTING -s 10.77.0.2/32 -m comment --comment "name: \\"brnet\\" id: \\"c1\\""' in rules
        assert "-s fd77::2/128" in rules and env.masq_nft_rules() == []
    else:
        comments = {r["comment"] for r in env.masq_nft_rules()}
        assert len(env.masq_nft_rules()) == 2 and all("net: brnet, if: eth0, id: c1" in c for c in comments)
        assert env.nat_rules() == ""
    env.netns.delete(ctr)  # the runtime lost the namespace before DEL
    delete = env.run("DEL", {**conf, "prevResult": result}, "c1", path)
    assert delete.returncode == 0, delete.stdout
    assert_clean(env)


def test_del_with_empty_netns_removes_rules_and_lease(pycni_bin, env):
    ctr, path = env.container()
    conf = env.conf(isGateway=True, ipMasq=True)
    result = env.run("ADD", conf, "c1", path).result()
    assert env.nat_rules() and env.reservations()
    delete = env.run("DEL", {**conf, "prevResult": result}, "c1", "")
    assert delete.returncode == 0, delete.stdout
    assert env.nat_rules() == "" and env.reservations() == []
    sh("ip", "link", "del", "eth0", ns=ctr)  # the runtime's job once the netns is not given


def test_macspoofchk(pycni_bin, env):
    ctr, path = env.container()
    conf = env.conf(macspoofchk=True)
    result = env.run("ADD", conf, "c1", path).result()
    [host_veth] = veth_ports(env)
    rules = [i["rule"] for i in env.nft() if "rule" in i and i["rule"]["family"] == "bridge"]
    assert {r["comment"] for r in rules} == {"macspoofchk-c1-eth0"}
    assert any(r["chain"] == "PREROUTING" and host_veth in str(r["expr"]) for r in rules)
    assert any(result["interfaces"][2]["mac"] in str(r["expr"]) for r in rules)
    assert env.run("DEL", conf, "c1", path).returncode == 0
    chains = {i["chain"]["name"] for i in env.nft() if "chain" in i and i["chain"]["family"] == "bridge"}
    assert not any(c.startswith("cni-br-iface-c1") for c in chains)
    assert [i for i in env.nft() if "rule" in i and i["rule"]["family"] == "bridge"] == []


def test_check_gc_status(pycni_bin, env):
    ctr, path = env.container()
    conf = env.conf("1.1.0", isDefaultGateway=True, ipMasq=True)
    result = env.run("ADD", conf, "c1", path).result()
    with_prev = {**conf, "prevResult": result}
    check = env.run("CHECK", with_prev, "c1", path)
    assert check.returncode == 0, check.stdout
    sh("ip", "addr", "flush", "dev", "eth0", "scope", "global", ns=ctr)
    assert "10.77.0.2/24" in env.run("CHECK", with_prev, "c1", path).error()["msg"]
    status = env.run("STATUS", conf, "", "")
    assert status.returncode == 0, status.stdout
    keep = env.run("GC", {**conf, "cni.dev/valid-attachments": [{"containerID": "c1", "ifname": "eth0"}]}, "", "")
    assert keep.returncode == 0 and env.reservations() == ["10.77.0.2"] and env.nat_rules()
    gc = env.run("GC", {**conf, "cni.dev/valid-attachments": []}, "", "")
    assert gc.returncode == 0, gc.stdout
    assert env.reservations() == [] and env.nat_rules() == ""


def test_status_reports_ipam_error(pycni_bin, env):
    conf = env.conf("1.1.0", ipam={"type": "no-such-ipam"})
    assert env.run("STATUS", conf, "", "").returncode != 0
    assert env.run("STATUS", env.conf("1.1.0", ipam={}), "", "").returncode == 0


def test_port_waits_on_events_not_sleeps(pycni_bin, env):
    """ADD with the port wait costs far less than the reference's 50 ms first sleep would suggest."""
    ctr, path = env.container()
    start = time.monotonic()
    env.run("ADD", env.conf(ipam={}), "c1", path).result()
    assert time.monotonic() - start < 2.5
    assert "UP" in env.links()[veth_ports(env)[0]]["flags"]


@pytest.mark.parametrize("ipam", ["host-local", "none"])
def test_gc_reads_the_legacy_key_and_rejects_a_malformed_list(pycni_bin, env, ipam):
    """GC keeps what `cni.dev/attachments` (the older spelling) lists; a malformed list is code 7 and
    collects nothing (read as "nothing is valid" it would delete every container's rules)."""
    _ctr, path = env.container()
    conf = env.conf("1.1.0", ipMasq=True) if ipam == "host-local" else env.conf("1.1.0", ipMasq=True, ipam={})
    env.run("ADD", conf, "c1", path).result()
    before = env.nat_rules()
    assert "MASQUERADE" in before or ipam == "none"
    for bad in ({"containerID": "c1"}, "c1", [["c1", "eth0"]]):
        doc = env.run("GC", {**conf, "cni.dev/valid-attachments": bad}, "", "").error()
        assert doc["code"] == 7 and "cni.dev/valid-attachments" in doc["msg"], doc
        assert env.nat_rules() == before
    keep = env.run("GC", {**conf, "cni.dev/attachments": [{"containerID": "c1", "ifname": "eth0"}]}, "", "")
    assert keep.returncode == 0, keep.stdout
    assert env.nat_rules() == before
    assert env.run("GC", {**conf, "cni.dev/attachments": None}, "", "").returncode == 0
    assert "c1" not in env.nat_rules() and "MASQUERADE" not in env.nat_rules()
