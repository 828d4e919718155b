"""Whole conflists through our cnitool and our plugins (PYCNI_BIN), inside a throwaway host namespace,
with real traffic: ADD, a ping and an HTTP fetch through a mapped port, CHECK, DEL leaving nothing, GC."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cni import PYCNI_BIN, ip_json, sh

pytestmark = pytest.mark.root

SERVER = (
    "import http.server,sys\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        self.send_response(200); self.end_headers(); self.wfile.write(b'pong')\n"
    "    def log_message(self, *a): pass\n"
    "s = http.server.HTTPServer(('0.0.0.0', 80), H)\n"
    "print('ready', flush=True)\n"
    "s.serve_forever()\n"
)


@dataclass
class Tool:
    """cnitool run inside `host_ns`, with its config dir, cache dir and plugins all under tmp."""

    host_ns: str
    tmp: Path
    bin_dir: Path = PYCNI_BIN

    @property
    def conf_dir(self) -> Path:
        return self.tmp / "net.d"

    @property
    def cache_dir(self) -> Path:
        return self.tmp / "cache"

    def write(self, conf: dict, filename: str = "") -> dict:
        """Install a conflist; host-local's dataDir is moved under tmp so nothing lands in /var/lib/cni."""
        conf = json.loads(json.dumps(conf))
        for plugin in conf.get("plugins", []):
            if plugin.get("ipam", {}).get("type") == "host-local":
                plugin["ipam"]["dataDir"] = str(self.tmp / "ipam")
        self.conf_dir.mkdir(exist_ok=True)
        (self.conf_dir / (filename or f"{conf['name']}.conflist")).write_text(json.dumps(conf))
        return conf

    def run(self, *argv: str, cap_args: str | None = None, cni_args: str | None = None, env: dict | None = None):
        """None leaves CAP_ARGS / CNI_ARGS unset (cnitool then reuses the cached ones on DEL/CHECK)."""
        full = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "NETCONFPATH": str(self.conf_dir),
            "CNI_PATH": str(self.bin_dir),
            "CNI_CACHE_DIR": str(self.cache_dir),
            **({} if cap_args is None else {"CAP_ARGS": cap_args}),
            **({} if cni_args is None else {"CNI_ARGS": cni_args}),
            **(env or {}),
        }
        argv_full = ["ip", "netns", "exec", self.host_ns, str(self.bin_dir / "cnitool"), *argv]
        return subprocess.run(argv_full, env=full, capture_output=True, text=True, timeout=120, check=False)

    def ok(self, *argv: str, **kw) -> str:
        done = self.run(*argv, **kw)
        assert done.returncode == 0, f"cnitool {' '.join(argv)}: {done.stdout}{done.stderr}"
        return done.stdout

    def reservations(self, network: str) -> list[str]:
        folder = self.tmp / "ipam" / network
        return sorted(p.name for p in folder.glob("*") if p.name[0].isdigit() or ":" in p.name)


@pytest.fixture
def tool(netns, tmp_path):
    return Tool(netns.new("h"), tmp_path)


def bridge_chain(name: str, bridge: str, subnet: str, version: str = "1.1.0") -> dict:
    return {
        "cniVersion": version,
        "name": name,
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                "isGateway": True,
                "isDefaultGateway": True,
                "ipMasq": True,
                "ipam": {"type": "host-local", "ranges": [[{"subnet": subnet}]]},
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def serve(ns: str) -> subprocess.Popen:
    server = subprocess.Popen(
        ["ip", "netns", "exec", ns, sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None and server.stdout.readline().strip() == "ready"
    return server


def fetch(ns: str, url: str) -> str:
    code = f"import urllib.request; print(urllib.request.urlopen({url!r}, timeout=10).read().decode())"
    return sh(sys.executable, "-c", code, ns=ns).strip()


def test_chain_traffic_check_inspect_del(tool, netns):
    ctr = netns.new("c")
    path = f"/run/netns/{ctr}"
    tool.write(bridge_chain("clnet", "clbr0", "10.231.0.0/24"))
    maps = json.dumps({"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]})
    result = json.loads(tool.ok("add", "clnet", path, cap_args=maps, cni_args="IgnoreUnknown=1;K8S_POD_NAME=p"))
    ip = result["ips"][0]["address"].split("/")[0]
    gateway = result["ips"][0]["gateway"]
    assert [a["local"] for a in ip_json("-4", "addr", "show", "dev", "eth0", ns=ctr)[0]["addr_info"]] == [ip]
    sh("ping", "-c1", "-W2", ip, ns=tool.host_ns)
    server = serve(ctr)
    try:
        assert fetch(tool.host_ns, f"http://{gateway}:8080/") == "pong"
    finally:
        server.kill()
        server.wait()
    tool.ok("check", "clnet", path)
    inspected = json.loads(tool.ok("inspect", "--json", "clnet", path))
    assert inspected["cached"] and inspected["capabilityArgs"] == json.loads(maps)
    assert f"{ip}/24" in inspected["live"]["addresses"] and inspected["live"]["rx"]["packets"] > 0
    assert inspected["cniArgs"] == [["IgnoreUnknown", "1"], ["K8S_POD_NAME", "p"]]
    tool.ok("del", "clnet", path)
    assert not list(tool.cache_dir.glob("results/*")) and tool.reservations("clnet") == []
    assert ip not in sh("iptables-save", ns=tool.host_ns)
    assert not _link_exists(ctr)
    assert [link["ifname"] for link in ip_json("link", "show", "master", "clbr0", ns=tool.host_ns)] == []
    tool.ok("del", "clnet", path)  # DEL is idempotent


def _link_exists(ns: str) -> bool:
    return (
        subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "show", "eth0"], capture_output=True).returncode == 0
    )


def test_check_reports_broken_attachment_and_old_versions(tool, netns):
    ctr = netns.new("c")
    path = f"/run/netns/{ctr}"
    tool.write(bridge_chain("clchk", "clbr1", "10.232.0.0/24"))
    tool.write(bridge_chain("clold", "clbr2", "10.233.0.0/24", version="0.3.1"))
    tool.ok("add", "clchk", path)
    sh("ip", "addr", "flush", "dev", "eth0", ns=ctr)
    done = tool.run("--json", "check", "clchk", path)
    assert done.returncode == 1
    doc = json.loads(done.stdout)
    assert doc["plugin"]["verb"] == "check" and doc["plugin"]["type"] == "bridge", doc
    tool.ok("del", "clchk", path)
    done = tool.run("check", "clold", path)
    assert done.returncode == 1 and 'configuration version "0.3.1" does not support the CHECK command' in done.stderr


def test_gc_deletes_every_cached_attachment(tool, netns):
    tool.write(bridge_chain("clgc", "clbr3", "10.234.0.0/24"))
    ctrs = [netns.new("c"), netns.new("d")]
    for ctr in ctrs:
        tool.ok("add", "clgc", f"/run/netns/{ctr}")
    assert len(tool.reservations("clgc")) == 2
    netns.delete(ctrs[0])  # the container is gone; its attachment is now stale
    tool.ok("gc", "clgc")
    assert tool.reservations("clgc") == [] and not list(tool.cache_dir.glob("results/*"))
    assert not _link_exists(ctrs[1])
    assert [link["ifname"] for link in ip_json("link", "show", "master", "clbr3", ns=tool.host_ns)] == []
    tool.ok("status", "clgc")


def test_failed_add_names_the_plugin_and_del_cleans_up(tool, netns):
    ctr = netns.new("c")
    path = f"/run/netns/{ctr}"
    tool.write(bridge_chain("clbad", "clbr4", "10.235.0.0/24"))
    bad_map = '{"portMappings":[{"hostPort":70000,"containerPort":80,"protocol":"tcp"}]}'
    done = tool.run("--json", "add", "clbad", path, cap_args=bad_map)
    doc = json.loads(done.stdout)
    assert done.returncode == 1 and doc["plugin"] == {"type": "portmap", "verb": "add"}, doc
    assert isinstance(doc["code"], int) and "70000" in doc["error"]
    assert tool.reservations("clbad") != []  # libcni does not roll back a list: the runtime DELs
    tool.run("del", "clbad", path)
    assert tool.reservations("clbad") == [] and not _link_exists(ctr)
