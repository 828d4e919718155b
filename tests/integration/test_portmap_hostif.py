"""portmap's host-interface lookup (route_localnet): `ip -j route get` and the netlink path agree.

Both run in a throwaway namespace with two veth links and a policy rule that sends one address to
another table, so the answer must come from the kernel's full route lookup, not from the main table.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cni import sh

pytestmark = pytest.mark.root

ROOT = Path(__file__).resolve().parents[2]
LOOKUP = """
import json, sys
from libcni.portmapper import hostif
out = {}
for ip in sys.argv[1:]:
    for name, fn in (("ip", hostif.route_interface), ("netlink", hostif.route_interface_netlink)):
        try:
            out[f"{name} {ip}"] = fn(ip)
        except LookupError as err:
            out[f"{name} {ip}"] = "LookupError"
        except OSError as err:
            out[f"{name} {ip}"] = f"OSError {err.errno}"
print(json.dumps(out))
"""
CASES = {"10.231.0.7": "svd0", "10.231.0.5": "svd1", "127.0.0.1": "lo", "10.232.0.1": "svd0"}


def lookup(ns: str, ips: list[str], path: str) -> dict[str, str]:
    argv = [
        shutil.which("ip") or "ip",
        "netns",
        "exec",
        ns,
        sys.executable,
        "-I",
        "-c",
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n{LOOKUP}",
    ]
    done = subprocess.run([*argv, *ips], capture_output=True, env={"PATH": path}, timeout=30, check=True)
    return json.loads(done.stdout)


@pytest.fixture
def host(netns) -> str:
    ns = netns.new("host")
    for i, net in enumerate(("10.231.0.1/24", "10.233.0.1/24")):
        sh("ip", "link", "add", f"svd{i}", "type", "veth", "peer", "name", f"svd{i}p", ns=ns)
        sh("ip", "addr", "add", net, "dev", f"svd{i}", ns=ns)
        for dev in (f"svd{i}", f"svd{i}p"):
            sh("ip", "link", "set", dev, "up", ns=ns)
    sh("ip", "route", "add", "10.232.0.0/24", "via", "10.231.0.9", ns=ns)
    # 10.231.0.5 is on svd0 in the main table, but a policy rule sends it out of svd1.
    sh("ip", "route", "add", "10.231.0.0/24", "dev", "svd1", "table", "100", ns=ns)
    sh("ip", "rule", "add", "to", "10.231.0.5", "lookup", "100", ns=ns)
    return ns


def test_ip_and_netlink_agree_including_policy_routing(host: str) -> None:
    found = lookup(host, [*CASES, "10.250.0.1"], "/usr/sbin:/usr/bin:/sbin:/bin")
    for ip, dev in CASES.items():
        assert found[f"ip {ip}"] == found[f"netlink {ip}"] == dev, found
    # No route at all: both say so (portmap then skips route_localnet with a warning, as the reference).
    assert found["ip 10.250.0.1"] == "LookupError", found
    assert found["netlink 10.250.0.1"] in ("LookupError", "OSError 101"), found


def test_without_ip_binary_the_netlink_path_answers(host: str, tmp_path: Path) -> None:
    found = lookup(host, list(CASES), str(tmp_path))  # an empty PATH directory: no `ip`
    for ip, dev in CASES.items():
        assert found[f"ip {ip}"] == dev, found
