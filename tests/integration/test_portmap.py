"""portmap with real traffic, both backends, IPv4 and IPv6.

The container side is wired by hand with `ip` (no bridge plugin): a "host" namespace with a bridge
(10.99.0.1/24, fd99::1/64) and an uplink veth to an "outside" namespace (192.168.99.0/24, fd98::/64),
two containers C1 (.2/::2) and C2 (.3/::3) on the bridge. Each container runs a small TCP/UDP server
on ports 5000 and 8080 answering "<tag>:<port>". portmap runs inside the host namespace.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.cni import Namespaces, run_plugin, sh

pytestmark = pytest.mark.root

SERVER = r"""
import select, socket, sys
tag, ports = sys.argv[1], [int(p) for p in sys.argv[2:]]
socks = {}
for port in ports:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET6, kind)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::", port))
        if kind == socket.SOCK_STREAM:
            s.listen(16)
        socks[s] = (kind, port)
print("ready", flush=True)
while True:
    for s in select.select(list(socks), [], [], 30)[0]:
        kind, port = socks[s]
        reply = f"{tag}:{port}".encode()
        if kind == socket.SOCK_STREAM:
            conn, _ = s.accept()
            conn.sendall(reply)
            conn.close()
        else:
            _, peer = s.recvfrom(64)
            s.sendto(reply, peer)
"""

CLIENT = r"""
import json, socket, sys
out = []
for proto, host, port in json.loads(sys.argv[1]):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        if proto == "tcp":
            s = socket.create_connection((host, port), timeout=3)
        else:
            s = socket.socket(fam, socket.SOCK_DGRAM)
            s.settimeout(3)
            s.sendto(b"?", (host, port))
        s.settimeout(3)
        out.append(s.recv(64).decode())
        s.close()
    except OSError as err:
        out.append("ERR:" + type(err).__name__)
print(json.dumps(out))
"""

HOST4, HOST6 = "192.168.99.1", "fd98::1"  # the host's "public" address (uplink to outside)
BR4, BR6 = "10.99.0.1", "fd99::1"
CONTAINERS = {"c1": ("10.99.0.2", "fd99::2"), "c2": ("10.99.0.3", "fd99::3")}


class Topology:
    """Host, outside and container namespaces wired with veths and a bridge; servers in containers."""

    def __init__(self, prefix: str) -> None:
        self.spaces = Namespaces(prefix)
        self.servers: list[subprocess.Popen] = []
        self.ns: dict[str, str] = {}
        self.host = self._new("h")
        self.outside = self._new("o")

    def _new(self, role: str) -> str:
        """A namespace with IPv6 DAD off, so no address (link-local included) is ever tentative."""
        ns = self.spaces.new(role)
        for conf in ("all", "default"):
            sh("sysctl", "-qw", f"net.ipv6.conf.{conf}.accept_dad=0", ns=ns)
        return ns

    def build(self) -> Topology:
        h, o = self.host, self.outside
        for cmd in (
            "sysctl -qw net.ipv4.ip_forward=1",
            "sysctl -qw net.ipv6.conf.all.forwarding=1",
            "ip link add pmbr0 type bridge",
            f"ip addr add {BR4}/24 dev pmbr0",
            f"ip addr add {BR6}/64 dev pmbr0 nodad",
            "ip link set pmbr0 up",
            f"ip link add pmup type veth peer name pmout netns {o}",
            f"ip addr add {HOST4}/24 dev pmup",
            f"ip addr add {HOST6}/64 dev pmup nodad",
            "ip link set pmup up",
        ):
            sh(*cmd.split(), ns=h)
        for cmd in (
            "ip addr add 192.168.99.2/24 dev pmout",
            "ip addr add fd98::2/64 dev pmout nodad",
            "ip link set pmout up",
            f"ip route add default via {HOST4}",
            f"ip -6 route add default via {HOST6}",
        ):
            sh(*cmd.split(), ns=o)
        for tag, (ip4, ip6) in CONTAINERS.items():
            self._container(tag, ip4, ip6)
        return self

    def _container(self, tag: str, ip4: str, ip6: str) -> None:
        ns = self.ns[tag] = self._new(tag)
        sh(*f"ip link add pm{tag} type veth peer name eth0 netns {ns}".split(), ns=self.host)
        sh(*f"ip link set pm{tag} master pmbr0 up".split(), ns=self.host)
        # As the bridge plugin's hairpinMode: a frame routed back to the port it came from (a container
        # reaching its own published port) is dropped by the bridge otherwise.
        sh(*f"ip link set pm{tag} type bridge_slave hairpin on".split(), ns=self.host)
        for cmd in (
            f"ip addr add {ip4}/24 dev eth0",
            f"ip addr add {ip6}/64 dev eth0 nodad",
            "ip link set eth0 up",
            f"ip route add default via {BR4}",
            f"ip -6 route add default via {BR6}",
        ):
            sh(*cmd.split(), ns=ns)
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, "-c", SERVER, tag, "5000", "8080"],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.servers.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"

    def prev_result(self, tag: str) -> dict:
        ip4, ip6 = CONTAINERS[tag]
        return {
            "cniVersion": "1.0.0",
            "interfaces": [{"name": "eth0", "sandbox": self.spaces.path(self.ns[tag])}],
            "ips": [
                {"address": f"{ip4}/24", "gateway": BR4, "interface": 0},
                {"address": f"{ip6}/64", "gateway": BR6, "interface": 0},
            ],
        }

    def plugin(self, command: str, conf: dict, tag: str, cid: str = "", **kw):  # noqa: ANN201
        return run_plugin(
            "portmap",
            command,
            conf,
            container_id=cid or f"pm-{tag}",
            netns=self.spaces.path(self.ns[tag]),
            ifname="eth0",
            host_ns=self.host,
            **kw,
        )

    def cleanup(self) -> None:
        for proc in self.servers:
            proc.kill()
            proc.wait(timeout=10)
        self.spaces.cleanup()


def probe(ns: str, *targets: tuple[str, str, int]) -> list[str]:
    """Connect from `ns` to each (proto, host, port) and return what each server answered (or ERR:...)."""
    out = sh(sys.executable, "-c", CLIENT, json.dumps(targets), ns=ns, timeout=60)
    return json.loads(out)


def portmap_conf(backend: str, mappings: list[dict], prev: dict | None, **extra) -> dict:
    conf = {"cniVersion": "1.0.0", "name": "pmnet", "type": "portmap", "backend": backend, **extra}
    conf["runtimeConfig"] = {"portMappings": mappings}
    if prev is not None:
        conf["prevResult"] = prev
    return conf


C1_MAPS = [
    {"hostPort": 8080, "containerPort": 5000, "protocol": "tcp"},
    {"hostPort": 8080, "containerPort": 5000, "protocol": "udp"},
    {"hostPort": 9090, "containerPort": 5000, "protocol": "tcp", "hostIP": HOST4},
    {"hostPort": 9091, "containerPort": 5000, "protocol": "tcp", "hostIP": HOST6},
]
C2_MAPS = [
    {"hostPort": 8081, "containerPort": 5000, "protocol": "tcp"},
    {"hostPort": 8081, "containerPort": 5000, "protocol": "udp"},
]


@pytest.fixture
def topo(request):
    digest = abs(hash(request.node.nodeid)) % 10000
    t = Topology(f"pm{digest:04d}")
    try:
        yield t.build()
    finally:
        t.cleanup()


def _add_both(topo: Topology, backend: str) -> None:
    for tag, maps in (("c1", C1_MAPS), ("c2", C2_MAPS)):
        res = topo.plugin("ADD", portmap_conf(backend, maps, topo.prev_result(tag)), tag)
        assert res.result() == topo.prev_result(tag)


@pytest.mark.parametrize("backend", ["iptables", "nftables"])
def test_traffic_and_del(topo: Topology, backend: str) -> None:
    _add_both(topo, backend)
    h, o, c1, c2 = topo.host, topo.outside, topo.ns["c1"], topo.ns["c2"]
    expect = {
        h: [
            (("tcp", HOST4, 8080), "c1:5000"),
            (("udp", HOST4, 8080), "c1:5000"),
            (("tcp", HOST6, 8080), "c1:5000"),
            (("udp", HOST6, 8080), "c1:5000"),
            (("tcp", "127.0.0.1", 8080), "c1:5000"),  # route_localnet + localhost masquerade
            (("udp", "127.0.0.1", 8081), "c2:5000"),
            (("tcp", BR4, 9090), "ERR:ConnectionRefusedError"),  # 9090 is only published on HOST4
        ],
        o: [
            (("tcp", HOST4, 8080), "c1:5000"),
            (("udp", HOST4, 8080), "c1:5000"),
            (("tcp", HOST6, 8080), "c1:5000"),
            (("udp", HOST6, 8081), "c2:5000"),
            (("tcp", HOST4, 9090), "c1:5000"),
            (("tcp", HOST6, 9091), "c1:5000"),
            (("tcp", HOST6, 9090), "ERR:ConnectionRefusedError"),  # the v4 hostIP mapping is not on v6
            # transit: traffic routed through the host to C2's own address is not redirected to C1
            (("tcp", "10.99.0.3", 8080), "c2:8080"),
            (("udp", "fd99::3", 8080), "c2:8080"),
        ],
        c1: [  # hairpin: a container reaches its own published port through the host's addresses
            (("tcp", HOST4, 8080), "c1:5000"),
            (("udp", BR4, 8080), "c1:5000"),
            (("tcp", HOST6, 8080), "c1:5000"),
        ],
        c2: [  # and its neighbour's
            (("tcp", HOST4, 8080), "c1:5000"),
            (("udp", HOST4, 8080), "c1:5000"),
            (("tcp", BR6, 8080), "c1:5000"),
            (("udp", HOST6, 8080), "c1:5000"),
        ],
    }
    for ns, cases in expect.items():
        got = probe(ns, *(target for target, _ in cases))
        assert got == [want for _, want in cases], f"from {ns}: {list(zip([t for t, _ in cases], got, strict=False))}"

    # DEL without the mappings (runtimes do that): C1's rules go, C2's keep working.
    conf = portmap_conf(backend, [], topo.prev_result("c1"))
    assert topo.plugin("DEL", conf, "c1").ok
    assert probe(o, ("tcp", HOST4, 8080), ("tcp", HOST6, 8081), ("udp", HOST4, 8081)) == [
        "ERR:ConnectionRefusedError",
        "c2:5000",
        "c2:5000",
    ]
    assert "pm-c1" not in ruleset(topo.host)
    assert "pm-c2" in ruleset(topo.host)
    assert topo.plugin("DEL", conf, "c1").ok  # idempotent


def ruleset(ns: str) -> str:
    """Every netfilter rule of the namespace, from tools other than the ones the plugin writes with."""
    return sh("iptables-save", ns=ns) + sh("ip6tables-save", ns=ns) + sh("nft", "list", "ruleset", ns=ns)
