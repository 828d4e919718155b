"""Every file in conf-examples/ loads with the runtime's rules and works end to end through cnitool:
ADD (with a port mapping where the network declares it), traffic, CHECK, DEL leaving nothing behind."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from libcni.client.conf import list_networks
from tests.cni import ROOT, sh
from tests.e2e.test_cnitool import SERVER, Tool, fetch

EXAMPLES = ROOT / "conf-examples"
FILES = sorted(p.name for p in EXAMPLES.iterdir() if p.suffix in (".conflist", ".conf"))


def test_every_example_loads_and_is_documented():
    rows = list_networks(str(EXAMPLES))
    assert [r[0].rsplit("/", 1)[1] for r in rows] == FILES
    readme = (EXAMPLES / "README.md").read_text()
    for path, found in rows:
        assert not isinstance(found, Exception), f"{path}: {found}"
        assert f"`{path.rsplit('/', 1)[1]}`" in readme, f"{path} is not explained in README.md"


@pytest.mark.root
@pytest.mark.parametrize("filename", FILES)
def test_example_end_to_end(filename, netns, tmp_path):
    tool = Tool(netns.new("h"), tmp_path)
    ctr = netns.new("c")
    path = f"/run/netns/{ctr}"
    raw = json.loads((EXAMPLES / filename).read_text())
    conf = tool.write(raw, filename)  # same file name, so the runtime's .conflist/.conf rules apply
    name = conf["name"]
    plugins = conf.get("plugins", [conf])
    mapped = any(p.get("capabilities", {}).get("portMappings") for p in plugins)
    cap_args = '{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]}' if mapped else ""
    result = json.loads(tool.ok("add", name, path, cap_args=cap_args))
    if filename == "99-loopback.conf":
        assert {ip["address"] for ip in result["ips"]} == {"127.0.0.1/8", "::1/128"}
    else:
        for ip in result["ips"]:
            address = ip["address"].split("/")[0]
            sh("ping", "-c1", "-W2", address, ns=tool.host_ns)
            sh("ping", "-c1", "-W2", ip["gateway"], ns=ctr)
    if mapped:
        server = subprocess.Popen(
            ["ip", "netns", "exec", ctr, sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True
        )
        try:
            assert server.stdout is not None and server.stdout.readline().strip() == "ready"
            gateway = next(ip["gateway"] for ip in result["ips"] if ":" not in ip["address"])
            assert fetch(tool.host_ns, f"http://{gateway}:8080/") == "pong"
        finally:
            server.kill()
            server.wait()
    if conf.get("cniVersion", "") >= "0.4.0":
        tool.ok("check", name, path)
    tool.ok("del", name, path)
    assert not list(tool.cache_dir.glob("results/*"))
    assert tool.reservations(name) == []
    for ip in result["ips"]:
        if not ip["address"].startswith(("127.", "::1")):
            assert ip["address"].split("/")[0] not in sh("iptables-save", ns=tool.host_ns)
