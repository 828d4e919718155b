"""`python -m bench [--quick] [--json FILE] [--ours DIR] [--go DIR] [--only SECTION,...]`

Runs every section whose plugins exist on both sides, prints one table, and writes the raw numbers as
JSON. Everything happens in a private network + mount namespace that dies with the process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from bench import report, scale, sections
from bench.impl import Impl
from bench.runner import Namespaces, enter_private_world, host_setup

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = {
    "loopback": sections.sec_loopback,
    "host-local": sections.sec_host_local,
    "bridge": sections.sec_bridge,
    "bridge-exec-ipam": sections.sec_bridge_exec_ipam,
    "portmap": sections.sec_portmap,
    "chain": sections.sec_chain,
    "parallel": scale.sec_parallel,
    "scale-bridge": scale.sec_bridge_scale,
    "scale-portmap": scale.sec_portmap_scale,
    "scale-host-local": scale.sec_host_local_scale,
}


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer samples and smaller scale (under a minute)")
    ap.add_argument("--json", metavar="FILE", help="write all numbers as JSON to FILE")
    ap.add_argument("--ours", default=str(ROOT / "dist" / "bin"), help="our executables (default dist/bin)")
    ap.add_argument("--go", default="/usr/lib/cni", help="the reference executables (default /usr/lib/cni)")
    ap.add_argument("--only", default="", help=f"comma-separated sections: {','.join(SECTIONS)}")
    return ap.parse_args(argv)


def machine_state() -> dict:
    return {"loadavg": os.getloadavg(), "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    opts = parse(argv)
    if os.geteuid() != 0:
        sys.exit("bench: must run as root (it creates network namespaces and firewall rules)")
    enter_private_world([sys.executable, "-m", "bench", *argv])
    host_setup()
    wanted = [s for s in opts.only.split(",") if s] or list(SECTIONS)
    unknown = set(wanted) - set(SECTIONS)
    if unknown:
        sys.exit(f"bench: unknown sections {sorted(unknown)}; known: {', '.join(SECTIONS)}")
    ours, go = Impl("ours", Path(opts.ours)), Impl("go", Path(opts.go))
    doc: dict = {
        "quick": opts.quick,
        "ours": opts.ours,
        "go": opts.go,
        "machine": {"nproc": os.cpu_count(), "kernel": platform.release(), "python": sys.version.split()[0]},
        "before": machine_state(),
        "sections": {},
    }
    ns = Namespaces(f"bn{os.getpid()}-")
    with tempfile.TemporaryDirectory(prefix="bn-") as tmp:
        bench = sections.Bench(ours, go, opts.quick, Path(tmp), ns)
        try:
            for name in wanted:
                started = time.perf_counter()
                try:
                    result = SECTIONS[name](bench)
                except Exception as err:  # noqa: BLE001 - one broken section must not hide the others
                    result = {"status": f"error: {type(err).__name__}: {err}"}
                result["seconds"] = round(time.perf_counter() - started, 1)
                doc["sections"][name] = result
                print(report.section_text(name, result), flush=True)
        finally:
            ns.remove_all()
    doc["after"] = machine_state()
    print(report.footer(doc))
    if opts.json:
        Path(opts.json).write_text(json.dumps(doc, indent=2) + "\n")
