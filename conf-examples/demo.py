#!/usr/bin/env python3
"""pycni demo: wire a container namespace with the default example and prove traffic flows.

Safe on a real machine: everything happens inside a throwaway "host" namespace (with its own bridge,
firewall rules and sysctls) and a container namespace; host-local's reservations and the result cache
go to a temporary directory. Both namespaces and the directory are removed at the end, even on failure
or Ctrl-C. Steps: `cnitool add` with a port mapping (CAP_ARGS), an HTTP server in the container,
a fetch through the host port, `cnitool check`, `cnitool inspect`, `cnitool del`.

Run it with `./build.sh demo` (builds first), or directly as root: `python3 conf-examples/demo.py`.
Environment: PYCNI_BIN (plugins + cnitool, default dist/bin), PYCNI_DEMO_PREFIX (namespace names).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "conf-examples" / "10-pycni-default.conflist"
NETWORK = "pycni-default"
HOST_PORT, CONTAINER_PORT = 8080, 80

SERVER = r"""
import http.server, sys
body = sys.argv[1].encode()
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("0.0.0.0", int(sys.argv[2])), Handler)
print("ready", flush=True)
server.serve_forever()
"""

FETCH = r"""
import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())
"""


def step(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def run(*argv: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done


class Demo:
    def __init__(self, bin_dir: Path, prefix: str) -> None:
        self.bin_dir = bin_dir
        self.host_ns, self.ctr_ns = f"{prefix}-host", f"{prefix}-ctr"
        self.tmp = Path(tempfile.mkdtemp(prefix="pycni-demo-"))
        self.server: subprocess.Popen | None = None
        self.added = False

    def cnitool(self, *argv: str, cap_args: str = "", check: bool = True) -> subprocess.CompletedProcess:
        env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "NETCONFPATH": str(self.tmp / "net.d"),
            "CNI_PATH": str(self.bin_dir),
            "CNI_CACHE_DIR": str(self.tmp / "cache"),
            "CAP_ARGS": cap_args,
        }
        # cnitool and the plugins run in the throwaway host namespace, never in this machine's own.
        return run("ip", "netns", "exec", self.host_ns, str(self.bin_dir / "cnitool"), *argv, env=env, check=check)

    def prepare(self) -> None:
        step(f"namespaces {self.host_ns} (host) and {self.ctr_ns} (container); config in {self.tmp}")
        for ns in (self.host_ns, self.ctr_ns):
            run("ip", "netns", "del", ns, check=False)  # left over from an interrupted run
            run("ip", "netns", "add", ns)
            run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        conf = json.loads(EXAMPLE.read_text())
        conf["plugins"][0]["ipam"]["dataDir"] = str(self.tmp / "ipam")  # keep /var/lib/cni untouched
        (self.tmp / "net.d").mkdir()
        (self.tmp / "net.d" / EXAMPLE.name).write_text(json.dumps(conf, indent=2))

    def add(self) -> tuple[str, str]:
        mapping = [{"hostPort": HOST_PORT, "containerPort": CONTAINER_PORT, "protocol": "tcp"}]
        step(f"cnitool add {NETWORK} /run/netns/{self.ctr_ns}   (CAP_ARGS portMappings {HOST_PORT}->{CONTAINER_PORT})")
        done = self.cnitool("add", NETWORK, f"/run/netns/{self.ctr_ns}", cap_args=json.dumps({"portMappings": mapping}))
        self.added = True
        print(done.stdout, end="")
        result = json.loads(done.stdout)
        return result["ips"][0]["address"].split("/")[0], result["ips"][0]["gateway"]

    def serve(self, ip: str) -> str:
        step(f"HTTP server in the container on {ip}:{CONTAINER_PORT}")
        body = f"hello from the pycni demo container {ip}"
        self.server = subprocess.Popen(
            ["ip", "netns", "exec", self.ctr_ns, sys.executable, "-c", SERVER, body, str(CONTAINER_PORT)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.server.stdout is not None
        if self.server.stdout.readline().strip() != "ready":  # wait for the bind, no sleep
            raise RuntimeError("the HTTP server in the container did not start")
        return body

    def fetch(self, gateway: str, expected: str) -> None:
        url = f"http://{gateway}:{HOST_PORT}/"
        step(f"fetch {url} from the host namespace (through portmap's DNAT)")
        got = run("ip", "netns", "exec", self.host_ns, sys.executable, "-c", FETCH, url).stdout.strip()
        print(got)
        if got != expected:
            raise RuntimeError(f"expected {expected!r}, got {got!r}")

    def check_inspect_del(self) -> None:
        step(f"cnitool check {NETWORK}")
        self.cnitool("check", NETWORK, f"/run/netns/{self.ctr_ns}")
        print("check passed")
        step(f"cnitool inspect {NETWORK}")
        print(self.cnitool("inspect", NETWORK, f"/run/netns/{self.ctr_ns}").stdout, end="")
        step(f"cnitool del {NETWORK}")
        self.cnitool("del", NETWORK, f"/run/netns/{self.ctr_ns}")
        self.added = False
        ipam_dir = self.tmp / "ipam" / NETWORK
        reserved = [p for p in ipam_dir.glob("*") if p.name[0].isdigit() or ":" in p.name]
        left = list((self.tmp / "cache" / "results").glob("*")) + reserved
        if left:
            raise RuntimeError(f"DEL left state behind: {left}")
        print("deleted: no cached result and no reserved address left")

    def cleanup(self) -> None:
        if self.server is not None:
            self.server.kill()
            self.server.wait()
        if self.added:
            self.cnitool("del", NETWORK, f"/run/netns/{self.ctr_ns}", check=False)
        for ns in (self.ctr_ns, self.host_ns):
            run("ip", "netns", "del", ns, check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)


def bin_dir() -> Path:
    found = Path(os.environ.get("PYCNI_BIN", ROOT / "dist" / "bin"))
    if not (found / "cnitool").exists():
        step("building pycni (./build.sh)")
        subprocess.run([str(ROOT / "build.sh"), "build"], check=True)
    return found


def main() -> int:
    if os.geteuid() != 0:
        print("demo: must run as root (it creates network namespaces); try: sudo ./build.sh demo", file=sys.stderr)
        return 1
    demo = Demo(bin_dir(), os.environ.get("PYCNI_DEMO_PREFIX", "pycni-demo"))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup below on a plain kill too
    try:
        demo.prepare()
        ip, gateway = demo.add()
        body = demo.serve(ip)
        demo.fetch(gateway, body)
        demo.check_inspect_del()
    except (RuntimeError, subprocess.SubprocessError, OSError, KeyError, ValueError) as err:
        print(f"\ndemo FAILED: {err}", file=sys.stderr)
        return 1
    finally:
        demo.cleanup()
    step("demo OK: namespaces, rules and temporary files removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
