"""What portmap ADD execs (strace): one iptables-save and one iptables-restore per family with a
container IP, nothing for the other family, and `ip route get` for the IPv4 route_localnet lookup.

Each exec costs 2-20 ms (iptables-nft reads the whole ruleset), so an extra one is a regression even
when every rule comes out right. The rules are checked too: the raw drop rule stays unique.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cni import BASE_ENV, PYCNI_BIN, sh

pytestmark = [pytest.mark.root, pytest.mark.skipif(not shutil.which("strace"), reason="needs strace")]

IFNAME = "eth0"


def prev_result(v4: str, v6: str | None) -> dict:
    ips = [{"address": v4, "gateway": "10.235.0.1", "interface": 0}]
    if v6:
        ips.append({"address": v6, "gateway": "fd35::1", "interface": 0})
    return {
        "cniVersion": "1.0.0",
        "interfaces": [{"name": IFNAME, "sandbox": "/run/netns/x"}],
        "ips": ips,
    }


def conf(v4: str, v6: str | None) -> dict:
    return {
        "cniVersion": "1.0.0",
        "name": "svexecs",
        "type": "portmap",
        "backend": "iptables",
        "runtimeConfig": {"portMappings": [{"hostPort": 18081, "containerPort": 80, "protocol": "tcp"}]},
        "prevResult": prev_result(v4, v6),
    }


def traced_add(host: str, cid: str, doc: dict, log: Path) -> list[str]:
    """Run portmap ADD under strace in `host`; the program names it exec'd, in order."""
    env = {**BASE_ENV, "CNI_COMMAND": "ADD", "CNI_CONTAINERID": cid, "CNI_NETNS": "/proc/self/ns/net"}
    env.update({"CNI_IFNAME": IFNAME, "CNI_PATH": str(PYCNI_BIN), "CNI_NETNS_OVERRIDE": "1"})
    argv = ["ip", "netns", "exec", host, "strace", "-f", "-qq", "-e", "trace=execve", "-o", str(log)]
    done = subprocess.run(
        [*argv, str(PYCNI_BIN / "portmap")], input=json.dumps(doc).encode(), env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()[-2000:]
    names = []
    for line in log.read_text().splitlines():
        if "execve(" in line and line.rstrip().endswith("= 0"):
            names.append(os.path.basename(line.split('execve("', 1)[1].split('"', 1)[0]))
    return [n for n in names[1:] if n != "pycni"]  # [0] is the plugin; a bundle re-execs itself once


@pytest.mark.parametrize("dual", [False, True], ids=["v4-only", "dual-stack"])
def test_add_execs_one_save_and_one_restore_per_family(netns, tmp_path: Path, dual: bool) -> None:
    host = netns.new("host")
    sh("ip", "link", "add", "svx0", "type", "veth", "peer", "name", "svx0p", ns=host)
    sh("ip", "addr", "add", "10.235.0.1/24", "dev", "svx0", ns=host)
    sh("ip", "-6", "addr", "add", "fd35::1/64", "dev", "svx0", "nodad", ns=host)
    for dev in ("svx0", "svx0p"):
        sh("ip", "link", "set", dev, "up", ns=host)
    v6 = "fd35::2/64" if dual else None
    execs = traced_add(host, "svexecs1", conf("10.235.0.2/24", v6), tmp_path / "1.log")
    want = ["iptables-save", "iptables-restore", "ip"]
    if dual:
        want += ["ip6tables-save", "ip6tables-restore"]
    assert sorted(execs) == sorted(want), execs
    # A second container: shared chains and the raw drop rule exist already and are not added twice.
    traced_add(host, "svexecs2", conf("10.235.0.3/24", v6), tmp_path / "2.log")
    raw = sh("iptables-save", "-t", "raw", ns=host)
    assert raw.count("drop off-box 127.0.0.0/8") == 1, raw
    nat = sh("iptables-save", "-t", "nat", ns=host)
    assert nat.count("-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT") == 1, nat
    assert nat.count("--to-destination 10.235.0.") == 2, nat
    assert sh("sysctl", "-n", "net.ipv4.conf.svx0.route_localnet", ns=host).strip() == "1"
    if not dual:
        assert "CNI-" not in sh("ip6tables-save", "-t", "nat", ns=host)
