"""bridge next to the Go reference: each cleans up after the other; parallel calls; the in-process
host-local fast path gives exactly what the exec path gives."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.cni import GO_BIN, PYCNI_BIN, sh
from tests.integration.bridge_helpers import Env, assert_clean, make_env, veth_ports

pytestmark = pytest.mark.root


@pytest.fixture
def env(netns, tmp_path) -> Env:
    return make_env(netns, tmp_path)


@pytest.mark.gobin
def test_go_del_cleans_our_add(pycni_bin, env):
    ctr, path = env.container()
    conf = env.conf(subnet6="fd77::/64", isDefaultGateway=True, ipMasq=True)
    result = env.run("ADD", conf, "c1", path).result()  # our bridge, our in-process host-local
    assert env.nat_rules() and env.reservations() == ["10.77.0.2", "fd77::2"]
    delete = env.run("DEL", {**conf, "prevResult": result}, "c1", path, go=True)
    assert delete.returncode == 0, delete.stdout
    assert "eth0" not in env.links(ctr)
    assert_clean(env)


@pytest.mark.gobin
def test_our_del_cleans_go_add(pycni_bin, env):
    ctr, path = env.container()
    conf = env.conf(subnet6="fd77::/64", isDefaultGateway=True, ipMasq=True)
    result = env.run("ADD", conf, "c1", path, go=True).result()
    assert env.nat_rules() and len(veth_ports(env)) == 1
    ours = env.run("DEL", {**conf, "prevResult": result}, "c1", path)
    assert ours.returncode == 0, ours.stdout
    assert "eth0" not in env.links(ctr)
    assert_clean(env)


@pytest.mark.gobin
def test_go_and_ours_share_a_bridge(pycni_bin, env):
    """Same network, one container each: same gateway, same kernel state shape, CHECK across."""
    (a, pa), (_b, pb) = env.container(), env.container()
    conf = env.conf(isGateway=True, ipMasq=True)
    go = env.run("ADD", conf, "cgo", pa, go=True).result()
    ours = env.run("ADD", conf, "cpy", pb).result()
    assert go["interfaces"][0]["name"] == ours["interfaces"][0]["name"] == env.bridge
    assert ours["interfaces"][0]["mac"] == go["interfaces"][0]["mac"]  # the pinned bridge MAC did not move
    sh("ping", "-c", "1", "-W", "2", ours["ips"][0]["address"].split("/")[0], ns=a)
    assert ours["ips"][0]["gateway"] == go["ips"][0]["gateway"] == "10.77.0.1"
    assert env.nat_rules().count("-A POSTROUTING") == 2
    check = env.run("CHECK", {**conf, "prevResult": go}, "cgo", pa)  # we CHECK what Go made
    assert check.returncode == 0, check.stdout
    for cid, path in (("cgo", pa), ("cpy", pb)):
        assert env.run("DEL", conf, cid, path, go=cid == "cpy").returncode == 0
    assert_clean(env)


def test_parallel_adds_and_dels(pycni_bin, env):
    conf = env.conf(subnet6="fd77::/64", isGateway=True, ipMasq=True)
    ctrs = [env.container() for _ in range(20)]

    def add(i: int):
        return env.run("ADD", conf, f"p{i}", ctrs[i][1]).result()

    def delete(i: int):
        return env.run("DEL", conf, f"p{i}", ctrs[i][1])

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(add, range(20)))
        addrs = [ip["address"] for r in results for ip in r["ips"]]
        assert len(set(addrs)) == 40
        assert len(veth_ports(env)) == 20 and len(env.reservations()) == 40
        assert env.nat_rules().count("-A POSTROUTING") == 40
        dels = list(pool.map(delete, range(20)))
    assert all(d.returncode == 0 for d in dels), [d.stdout for d in dels if d.returncode]
    assert_clean(env)


def _state(env: Env) -> dict[str, object]:
    """The dataDir's files and contents; host-local's index file is compared without its mtime stamp."""
    d = env.data / "brnet"
    out: dict[str, object] = {}
    for p in sorted(d.iterdir()) if d.exists() else []:
        if p.name == "lock":
            continue
        out[p.name] = p.read_text()
        if p.name.endswith(".json"):
            doc = json.loads(p.read_text())
            doc.pop("mtime", None)
            out[p.name] = doc
    return out


def _strip(result: dict) -> dict:
    """The result without what is random per run (MACs, host veth name)."""
    out = dict(result)
    out["interfaces"] = [{"name": i["name"] if n != 1 else "veth"} for n, i in enumerate(result["interfaces"])]
    return out


def test_fast_path_matches_exec_path(pycni_bin, env, tmp_path):
    """Same calls through the in-process host-local and through the exec'd one: same results, same
    files on disk, same errors."""
    seen = {}
    for mode in ("inproc", "exec"):
        env.data = tmp_path / mode
        env.data.mkdir()
        extra = {"env": {"PYCNI_IPAM_EXEC": "1"}} if mode == "exec" else {}
        conf = env.conf(subnet4="10.77.0.0/30", subnet6="fd77::/120", isGateway=True)
        c1, c2 = env.container(), env.container()
        r1 = env.run("ADD", conf, "f1", c1[1], cni_path=str(PYCNI_BIN), **extra).result()
        full = env.run("ADD", conf, "f2", c2[1], cni_path=str(PYCNI_BIN), **extra).error()  # /30: range full
        state = _state(env)
        env.run("DEL", conf, "f1", c1[1], cni_path=str(PYCNI_BIN), **extra)
        seen[mode] = (_strip(r1), full, state, _state(env))
        assert veth_ports(env) == []
    assert seen["inproc"] == seen["exec"]
    assert "10.77.0.2" in seen["exec"][2]


@pytest.mark.parametrize(
    "cni_path, force_exec, expected",
    [("ours", False, "in-process"), ("ours", True, "exec"), ("go", False, "exec")],
)
def test_fast_path_is_taken_only_for_our_host_local(pycni_bin, env, cni_path, force_exec, expected):
    ctr, path = env.container()
    conf = env.conf(
        ipam={"type": "host-local", "dataDir": str(env.data), "ranges": [[{"subnet": "10.77.0.0/24"}]]},
        logLevel="debug",
    )
    search = str(PYCNI_BIN if cni_path == "ours" else GO_BIN)
    extra = {"env": {"PYCNI_IPAM_EXEC": "1"}} if force_exec else {}
    run = env.run("ADD", conf, "c1", path, cni_path=search, **extra)
    run.result()
    assert f"IPAM ADD host-local: {expected}" in run.stderr
    assert env.run("DEL", conf, "c1", path, cni_path=search, **extra).returncode == 0
    assert env.reservations() == []
