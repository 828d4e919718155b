"""Our host-local and Debian's Go host-local (/usr/lib/cni, v1.1.1) on one dataDir: a node can switch
implementations with containers running. Either sees, checks and releases what the other reserved,
both honour the same flock, and our index notices what the Go plugin changed behind its back."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.test_host_local import NET, call, hl_conf, ips_of, ok, reservations

pytestmark = [pytest.mark.root, pytest.mark.gobin]

DUAL = [[{"subnet": "10.78.0.0/24"}], [{"subnet": "fd78::/64"}]]
GO_VERSIONS = ["0.3.1", "0.4.0", "1.0.0"]  # Debian's v1.1.1 speaks up to 1.0.0


@pytest.mark.parametrize("version", GO_VERSIONS)
def test_each_releases_what_the_other_reserved(tmp_path, version):
    conf = hl_conf(tmp_path, DUAL, version)
    go_res = call("ADD", conf, "hlgo", go=True).result()
    assert ips_of(go_res) == ["10.78.0.2", "fd78::2"]
    # Ours continues the round robin the Go plugin left in last_reserved_ip.N.
    our_res = call("ADD", conf, "hlours").result()
    assert ips_of(our_res) == ["10.78.0.3", "fd78::3"]
    assert reservations(tmp_path) == {
        "10.78.0.2": "hlgo\r\neth0",
        "fd78::2": "hlgo\r\neth0",
        "10.78.0.3": "hlours\r\neth0",
        "fd78::3": "hlours\r\neth0",
    }
    if version != "0.3.1":  # CHECK exists from 0.4.0
        ok(call("CHECK", dict(conf, prevResult=go_res), "hlgo"))
        ok(call("CHECK", dict(conf, prevResult=our_res), "hlours", go=True))
    # And the Go plugin continues after ours.
    assert ips_of(call("ADD", conf, "hlgo2", go=True).result()) == ["10.78.0.4", "fd78::4"]
    ok(call("DEL", conf, "hlgo"))
    ok(call("DEL", conf, "hlours", go=True))
    ok(call("DEL", conf, "hlgo2"))
    assert reservations(tmp_path) == {}
    names = {p.name for p in (tmp_path / NET).iterdir()}
    assert {"lock", "last_reserved_ip.0", "last_reserved_ip.1"} <= names


def test_our_index_sees_go_reservations_and_releases(tmp_path):
    conf = hl_conf(tmp_path, DUAL, "1.0.0")
    for cid in ("hla", "hlb"):
        call("ADD", conf, cid).result()  # builds and trusts our index
    go_ips = ips_of(call("ADD", conf, "hlgo", go=True).result())
    # The Go reservation is known to us at once: a second ADD for it is a duplicate, its CHECK passes.
    assert "duplicate allocation" in call("ADD", conf, "hlgo").error()["msg"]
    ok(call("CHECK", conf, "hlgo"))
    # A Go DEL of one of ours is noticed too: the address is free again for us.
    ok(call("DEL", conf, "hla", go=True))
    assert "Failed to find address" in call("CHECK", conf, "hla").error()["msg"]
    ours = ips_of(call("ADD", conf, "hlc").result())
    assert ours[0] not in go_ips and ours[0] != "10.78.0.3"  # hlb keeps .3
    ok(call("DEL", conf, "hlgo"))
    assert set(reservations(tmp_path).values()) == {"hlb\r\neth0", "hlc\r\neth0"}


def test_legacy_id_only_files_are_understood(tmp_path):
    conf = hl_conf(tmp_path, DUAL, "1.0.0")
    net = tmp_path / NET
    net.mkdir()
    (net / "10.78.0.9").write_text("hlold")  # what releases before the ifname was recorded wrote
    ok(call("CHECK", conf, "hlold"))
    ok(call("CHECK", conf, "hlold", go=True))
    assert "10.78.0.9" not in ips_of(call("ADD", conf, "hlnew").result())
    ok(call("DEL", conf, "hlold"))
    assert set(reservations(tmp_path)) == {"10.78.0.2", "fd78::2"}


def test_both_honour_the_same_lock_under_concurrency(tmp_path):
    conf = hl_conf(tmp_path, [[{"subnet": "10.78.0.0/24"}]], "1.0.0")
    jobs = [(f"hlo{i}", False) for i in range(10)] + [(f"hlg{i}", True) for i in range(10)]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        runs = list(pool.map(lambda job: call("ADD", conf, job[0], go=job[1]), jobs))
    got = [ips_of(run.result())[0] for run in runs]
    assert len(set(got)) == 20
    held = reservations(tmp_path)
    assert sorted(held) == sorted(got)
    assert {content.split("\r\n")[0] for content in held.values()} == {cid for cid, _ in jobs}
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        dels = list(pool.map(lambda job: call("DEL", conf, job[0], go=not job[1]), jobs))
    for run in dels:
        ok(run)
    assert reservations(tmp_path) == {}
