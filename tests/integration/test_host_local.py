"""host-local through the executable, as a runtime (or bridge) execs it: every verb and version, every
source of ranges and IPs, the on-disk layout, GC, STATUS, the bounded lock, a kill loop and 50-way
concurrency. IPAM never enters a netns, so these need no namespaces (the session runs in unshare --net).
The helpers at the top are shared with test_host_local_go.py."""

from __future__ import annotations

import fcntl
import json
import os
import random
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.cni import BASE_ENV, GO_BIN, PYCNI_BIN, Run, run_plugin

# IPAM never opens the netns; skel only requires the variable for ADD and CHECK.
FAKE_NETNS = "/run/netns/hl-unused"
NET = "hlnet"


def hl_conf(data_dir: Path, ranges: list, version: str = "1.1.0", name: str = NET, **extra) -> dict:
    """A bridge-style config whose `ipam` is host-local (IPAM plugins get the caller's whole config)."""
    ipam = {"type": "host-local", "dataDir": str(data_dir), "ranges": ranges}
    ipam.update(extra.pop("ipam", {}))
    return {"cniVersion": version, "name": name, "type": "bridge", "ipam": ipam, **extra}


def call(command: str, conf: dict, cid: str = "", ifname: str = "eth0", go: bool = False, **kw) -> Run:
    needs_attachment = command in ("ADD", "DEL", "CHECK")
    return run_plugin(
        "host-local",
        command,
        conf,
        container_id=cid if needs_attachment else "",
        netns=FAKE_NETNS if command in ("ADD", "CHECK") else "",
        ifname=ifname if needs_attachment else "",
        bin_dir=GO_BIN if go else None,
        **kw,
    )


def spawn(command: str, conf: dict, cid: str, ifname: str = "eth0", go: bool = False) -> subprocess.Popen:
    """Start a call without waiting (for kill and concurrency tests); stdin is written and closed."""
    env = dict(BASE_ENV)
    env.update(CNI_COMMAND=command, CNI_CONTAINERID=cid, CNI_IFNAME=ifname, CNI_PATH=str(PYCNI_BIN))
    if command == "ADD":
        env["CNI_NETNS"] = FAKE_NETNS
    binary = (GO_BIN if go else PYCNI_BIN) / "host-local"
    proc = subprocess.Popen(
        [str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(conf).encode())
    proc.stdin.close()
    return proc


def reservations(data_dir: Path, name: str = NET) -> dict[str, str]:
    """{ip: raw file content} of every reservation file, read independently of the plugin."""
    net = data_dir / name
    if not net.exists():
        return {}
    out = {}
    for entry in os.listdir(net):
        if entry.startswith(".") or entry == "lock" or entry.startswith("last_reserved_ip."):
            continue
        out[entry] = (net / entry).read_bytes().decode()  # bytes: keep the CRLF
    return out


def ok(run: Run) -> None:
    """A verb that prints nothing on success (DEL, CHECK, GC, STATUS)."""
    assert run.returncode == 0 and not run.stdout.strip(), f"failed ({run.returncode}): {run.stdout}\n{run.stderr}"


def ips_of(result: dict) -> list[str]:
    return [ipc["address"].split("/")[0] for ipc in result["ips"]]


DUAL = [[{"subnet": "10.77.0.0/24"}], [{"subnet": "fd77::/64"}]]
ALL_VERSIONS = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]
pytestmark = pytest.mark.root


def _resolv(tmp_path: Path) -> str:
    path = tmp_path / "resolv.conf"
    path.write_text("nameserver 10.77.0.53\nsearch hl.example\noptions ndots:3\n")
    return str(path)


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_add_del_dual_stack_every_version(tmp_path, version):
    conf = hl_conf(tmp_path, DUAL, version, ipam={"routes": [{"dst": "0.0.0.0/0"}], "resolvConf": _resolv(tmp_path)})
    out = call("ADD", conf, "hlc1").result()
    dns = {"nameservers": ["10.77.0.53"], "search": ["hl.example"], "options": ["ndots:3"]}
    assert out["cniVersion"] == version
    assert out["dns"] == dns
    if version in ("0.1.0", "0.2.0"):
        assert out["ip4"] == {"ip": "10.77.0.2/24", "gateway": "10.77.0.1", "routes": [{"dst": "0.0.0.0/0"}]}
        assert out["ip6"] == {"ip": "fd77::2/64", "gateway": "fd77::1"}
    else:
        extra = [{"version": "4"}, {"version": "6"}] if version.startswith("0.") else [{}, {}]
        assert out["ips"] == [
            {**extra[0], "address": "10.77.0.2/24", "gateway": "10.77.0.1"},
            {**extra[1], "address": "fd77::2/64", "gateway": "fd77::1"},
        ]
        assert out["routes"] == [{"dst": "0.0.0.0/0"}]
    net = tmp_path / NET
    assert reservations(tmp_path) == {"10.77.0.2": "hlc1\r\neth0", "fd77::2": "hlc1\r\neth0"}
    assert (net / "last_reserved_ip.0").read_text() == "10.77.0.2"
    assert (net / "last_reserved_ip.1").read_text() == "fd77::2"
    # A second attachment gets the next addresses; DEL frees only its own, and twice is fine.
    assert ips_of(call("ADD", hl_conf(tmp_path, DUAL, "1.1.0"), "hlc2", "net1").result()) == ["10.77.0.3", "fd77::3"]
    ok(call("DEL", conf, "hlc1"))
    ok(call("DEL", conf, "hlc1"))
    assert reservations(tmp_path) == {"10.77.0.3": "hlc2\r\nnet1", "fd77::3": "hlc2\r\nnet1"}
    assert (net / "lock").exists() and (net / "last_reserved_ip.0").read_text() == "10.77.0.3"


def test_round_robin_does_not_hand_back_a_released_address(tmp_path):
    conf = hl_conf(tmp_path, [[{"subnet": "10.77.0.0/29"}]])  # .2-.6
    got = [ips_of(call("ADD", conf, f"hlc{i}").result())[0] for i in range(3)]
    assert got == ["10.77.0.2", "10.77.0.3", "10.77.0.4"]
    ok(call("DEL", conf, "hlc0"))
    assert ips_of(call("ADD", conf, "hlc9").result()) == ["10.77.0.5"]
    call("ADD", conf, "hlc8").result()
    assert ips_of(call("ADD", conf, "hlc7").result()) == ["10.77.0.2"]  # wrapped around to the freed one
    err = call("ADD", conf, "hlc6").error()
    assert "no IP addresses available in range set: 10.77.0.1-10.77.0.6" in err["msg"]
    assert len(reservations(tmp_path)) == 5


def test_requested_ips_from_every_source(tmp_path):
    conf = hl_conf(tmp_path, DUAL)
    # CNI_ARGS IP
    assert ips_of(call("ADD", conf, "hlc1", cni_args="IgnoreUnknown=1;IP=10.77.0.50").result())[0] == "10.77.0.50"
    # args.cni.ips wins over CNI_ARGS; runtimeConfig.ips adds the v6 one (a /prefix is ignored)
    conf2 = dict(conf, args={"cni": {"ips": ["10.77.0.60/24"]}}, runtimeConfig={"ips": ["fd77::60"]})
    out = call("ADD", conf2, "hlc2", cni_args="IP=10.77.0.61").result()
    assert ips_of(out) == ["10.77.0.60", "fd77::60"]
    # Taken, gateway, and outside every range: refused, nothing left behind
    for cid, args, needle in [
        ("hlc3", "IP=10.77.0.50", "not available"),
        ("hlc4", "IP=10.77.0.1", "gateway"),
        ("hlc5", "IP=10.99.0.1", "failed to allocate all requested IPs"),
    ]:
        assert needle in call("ADD", conf, cid, cni_args=args).error()["msg"]
    owners = set(reservations(tmp_path).values())
    assert owners == {"hlc1\r\neth0", "hlc2\r\neth0"}


def test_runtime_ip_ranges_and_legacy_subnet_are_prepended(tmp_path):
    conf = hl_conf(tmp_path, [[{"subnet": "fd77::/64"}]], ipam={"subnet": "10.77.1.0/24", "gateway": "10.77.1.254"})
    conf["runtimeConfig"] = {"ipRanges": [[{"subnet": "10.77.2.0/24", "rangeStart": "10.77.2.100"}]]}
    out = call("ADD", conf, "hlc1").result()
    assert [(i["address"], i["gateway"]) for i in out["ips"]] == [
        ("10.77.2.100/24", "10.77.2.1"),
        ("10.77.1.1/24", "10.77.1.254"),
        ("fd77::2/64", "fd77::1"),
    ]
    assert (tmp_path / NET / "last_reserved_ip.2").read_text() == "fd77::2"


@pytest.mark.parametrize(
    ("ipam", "needle"),
    [
        ({"ranges": [[{"subnet": "10.77.0.5/24"}]]}, "host bits set"),
        ({"ranges": [[{"subnet": "10.77.0.0/31"}]]}, "too small"),
        ({"ranges": [[{"subnet": "10.77.0.0/24"}], [{"subnet": "10.77.0.0/25"}]]}, "overlaps"),
        ({"ranges": [[{"subnet": "10.77.0.0/24"}, {"subnet": "fd77::/64"}]]}, "mixed address families"),
        ({"ranges": [[{"subnet": "10.77.0.0/24", "rangeEnd": "10.78.0.9"}]]}, "not in network"),
        ({"ranges": []}, "no IP ranges specified"),
        (None, "missing 'ipam'"),
    ],
)
def test_bad_config_is_code_7_and_leaves_nothing(tmp_path, ipam, needle):
    conf = hl_conf(tmp_path, [], ipam=ipam or {})
    if ipam is None:
        del conf["ipam"]
    err = call("ADD", conf, "hlc1").error()
    assert err["code"] == 7 and needle in err["msg"], err
    assert not (tmp_path / NET).exists()


def test_two_addresses_of_one_family_need_0_3_0(tmp_path):
    conf = hl_conf(tmp_path, [[{"subnet": "10.77.0.0/24"}], [{"subnet": "10.78.0.0/24"}]], "0.2.0")
    err = call("ADD", conf, "hlc1").error()
    assert err["code"] == 7 and "more than 1 address per family" in err["msg"]


@pytest.mark.parametrize("version", ["0.4.0", "1.0.0", "1.1.0"])
def test_check_compares_prev_result_with_the_reservations(tmp_path, version):
    conf = hl_conf(tmp_path, DUAL, version)
    prev = call("ADD", conf, "hlc1").result()
    checked = dict(conf, prevResult=prev)
    ok(call("CHECK", checked, "hlc1"))
    ok(call("CHECK", conf, "hlc1"))  # without prevResult: it must hold something
    assert "not reserved by container hlc2" in call("CHECK", checked, "hlc2").error()["msg"]
    assert "Failed to find address" in call("CHECK", conf, "hlc1", ifname="eth9").error()["msg"]
    ok(call("DEL", conf, "hlc1"))
    assert "not reserved" in call("CHECK", checked, "hlc1").error()["msg"]


def test_gc_releases_what_is_not_valid_and_nothing_else(tmp_path):
    conf = hl_conf(tmp_path, DUAL)
    for cid, ifname in [("hla", "eth0"), ("hla", "eth1"), ("hlb", "eth0"), ("hlc", "eth0")]:
        call("ADD", conf, cid, ifname).result()
    other = hl_conf(tmp_path, DUAL, name="hlother")
    call("ADD", other, "hlz").result()
    net = tmp_path / NET
    (net / "10.77.0.200").write_text("hlc")  # an old release's id-only file
    (net / "10.77.0.201").write_text("")  # an empty orphan from a crashed Go plugin
    last = (net / "last_reserved_ip.0").read_text()
    gc = dict(
        conf,
        **{
            "cni.dev/valid-attachments": [
                {"containerID": "hla", "ifname": "eth0"},
                {"containerID": "hlc", "ifname": "eth7"},
            ]
        },
    )
    ok(call("GC", gc))
    assert set(reservations(tmp_path).items()) == {
        ("10.77.0.2", "hla\r\neth0"),
        ("fd77::2", "hla\r\neth0"),
        ("10.77.0.200", "hlc"),
    }
    assert (net / "lock").exists() and (net / "last_reserved_ip.0").read_text() == last
    assert len(reservations(tmp_path, "hlother")) == 2
    # The older key is honoured when the new one is absent; no list at all means nothing is valid.
    ok(call("GC", dict(conf, **{"cni.dev/attachments": [{"containerID": "hla", "ifname": "eth0"}]})))
    assert set(reservations(tmp_path)) == {"10.77.0.2", "fd77::2"}
    ok(call("GC", conf))
    assert reservations(tmp_path) == {}
    # GC needs 1.1.0, as the spec says
    assert call("GC", hl_conf(tmp_path, DUAL, "1.0.0")).error()["code"] == 1


def test_status_is_50_only_when_an_add_cannot_succeed(tmp_path):
    conf = hl_conf(tmp_path, [[{"subnet": "10.77.0.0/30"}], [{"subnet": "fd77::/64"}]])  # one v4 address (.2)
    ok(call("STATUS", conf))  # no state yet
    call("ADD", conf, "hlc1").result()
    err = call("STATUS", conf).error()
    assert err["code"] == 50 and "10.77.0.1-10.77.0.2" in err["msg"]
    ok(call("DEL", conf, "hlc1"))
    ok(call("STATUS", conf))


def test_lock_wait_is_bounded_and_ends_in_code_11(tmp_path):
    conf = hl_conf(tmp_path, DUAL, ipam={"lockTimeout": 0.3})
    call("ADD", conf, "hlc1").result()
    fd = os.open(tmp_path / NET / "lock", os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        for command in ("ADD", "DEL"):
            err = call(command, conf, "hlc2").error()
            assert err["code"] == 11 and "lock" in err["msg"], err
    finally:
        os.close(fd)
    assert len(reservations(tmp_path)) == 2
    call("ADD", conf, "hlc2").result()


def test_killed_at_any_point_leaves_whole_reservations_or_none(tmp_path):
    conf = hl_conf(tmp_path, DUAL)
    start = time.monotonic()
    call("ADD", conf, "hlref").result()
    duration = time.monotonic() - start
    seed = random.randrange(1 << 30)
    rnd = random.Random(seed)
    killed = []
    for i in range(30):
        proc = spawn("ADD", conf, f"hlk{i}")
        time.sleep(rnd.uniform(0.3, 1.1) * duration)  # start-up takes most of a call: aim past it
        proc.kill()
        proc.wait()
        killed.append(f"hlk{i}")
        files = os.listdir(tmp_path / NET)
        assert not [f for f in files if f.startswith(".pycni-") and f.endswith(".tmp") and "reserve" in f], (
            seed,
            files,
        )
        for ip, content in reservations(tmp_path).items():
            assert content in {f"{cid}\r\neth0" for cid in ["hlref", *killed]}, (seed, ip, content)
    # Every reservation a killed call completed is found and released (the runtime DELs a failed ADD).
    for cid in killed:
        ok(call("DEL", conf, cid))
    assert set(reservations(tmp_path).values()) == {"hlref\r\neth0"}, seed
    assert ips_of(call("ADD", conf, "hlafter").result())[0].startswith("10.77.0.")


def _run_all(jobs: list[tuple[str, str]], conf: dict) -> list[Run]:
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(lambda job: call(job[0], conf, job[1]), jobs))


def test_fifty_concurrent_adds_and_dels(tmp_path):
    conf = hl_conf(tmp_path, DUAL)
    first = _run_all([("ADD", f"hlp{i}") for i in range(50)], conf)
    v4 = [ips_of(r.result())[0] for r in first]
    assert len(set(v4)) == 50
    assert len(reservations(tmp_path)) == 100
    # Half leave while 25 others arrive, all at once.
    mixed = _run_all([("DEL", f"hlp{i}") for i in range(25)] + [("ADD", f"hlq{i}") for i in range(25)], conf)
    for run in mixed:
        assert run.ok, run.stdout
    held = reservations(tmp_path)
    owners = sorted({content.split("\r\n")[0] for content in held.values()})
    assert owners == sorted([f"hlp{i}" for i in range(25, 50)] + [f"hlq{i}" for i in range(25)])
    assert len(held) == 100  # 50 attachments × 2 families, no duplicates
    final = _run_all([("DEL", f"hlp{i}") for i in range(25, 50)] + [("DEL", f"hlq{i}") for i in range(25)], conf)
    for run in final:
        ok(run)
    assert reservations(tmp_path) == {}


def test_a_thousand_reservations(tmp_path):
    """At scale the calls stay correct; the index keeps them from reading every file (test_ipam_store)."""
    net = tmp_path / NET
    net.mkdir()
    for i in range(1000):
        (net / f"10.77.{4 + i // 250}.{1 + i % 250}").write_text(f"hlold{i}\r\neth0")
    conf = hl_conf(tmp_path, [[{"subnet": "10.77.0.0/16"}]])
    assert ips_of(call("ADD", conf, "hlc1").result()) == ["10.77.0.2"]
    ok(call("DEL", conf, "hlold500"))
    assert "10.77.6.1" not in reservations(tmp_path)  # hlold500's
    assert len(reservations(tmp_path)) == 1000
    assert "duplicate allocation" in call("ADD", conf, "hlold7").error()["msg"]
