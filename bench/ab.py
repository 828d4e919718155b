"""A/B of two or more builds of bridge (+ in-process host-local): ADD then DEL, alternating per iteration.

    .venv/bin/python -m bench.ab N base=/path/to/old/bin new=dist/bin [--masq] [--v6]

Copy a build aside first (`cp -a dist /tmp/old`: its links are relative). Each ADD gets a fresh container
netns; the builds alternate (order reversed every other iteration) so load drift hits them alike, which
hyperfine's --prepare between two different bundles did not (bench/README.md). Prints p50 wall and CPU
(children included: `ip`, iptables) per build. Runs under the same private namespaces as the bench.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile

from bench.runner import BASE_PATH, Namespaces, enter_private_world, host_setup, spawn


def _conf(k: int, masq: bool, v6: bool, data: str) -> dict:
    ranges: list = [[{"subnet": f"10.{90 + k}.0.0/16"}]]
    if v6:
        ranges.append([{"subnet": f"fd{90 + k:02x}::/64"}])
    return {
        "cniVersion": "1.0.0", "name": f"ab{k}", "type": "bridge", "bridge": f"abbr{k}", "isGateway": True,
        "ipMasq": masq, "ipam": {"type": "host-local", "ranges": ranges, "dataDir": f"{data}/{k}"},
    }  # fmt: skip


def main(argv: list[str]) -> None:
    enter_private_world([sys.executable, "-m", "bench.ab", *argv])
    host_setup()
    n, masq, v6 = int(argv[0]), "--masq" in argv, "--v6" in argv
    builds = [tuple(a.split("=", 1)) for a in argv[1:] if "=" in a]
    samples: dict[str, dict[str, list[float]]] = {
        b[0]: {k: [] for k in ("add", "add_cpu", "del", "del_cpu")} for b in builds
    }
    namespaces, data = Namespaces("abc"), tempfile.mkdtemp(prefix="bench-ab-")
    try:
        _loop(n, builds, masq, v6, namespaces, data, samples)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    print(f"load {os.getloadavg()[0]:.2f}, {n} ADD+DEL per build, ipMasq={masq}, dual-stack={v6}")
    for label, s in samples.items():
        m = {key: statistics.median(v) for key, v in s.items()}
        print(f"{label:12s} ADD p50 {m['add']:6.1f} cpu {m['add_cpu']:6.1f} |", end=" ")
        print(f"DEL p50 {m['del']:6.1f} cpu {m['del_cpu']:6.1f}")


def _loop(n: int, builds: list, masq: bool, v6: bool, namespaces: Namespaces, data: str, samples: dict) -> None:
    for i in range(n + 2):  # 2 warm-ups
        order = builds if i % 2 == 0 else builds[::-1]
        for (label, bin_dir), path in zip(order, namespaces.make(len(order)), strict=True):
            k = builds.index((label, bin_dir))
            stdin = json.dumps(_conf(k, masq, v6, data)).encode()
            env = {"PATH": BASE_PATH, "CNI_COMMAND": "ADD", "CNI_CONTAINERID": f"c{i}x{k}", "CNI_NETNS": path,
                   "CNI_IFNAME": "eth0", "CNI_PATH": bin_dir}  # fmt: skip
            add = spawn([f"{bin_dir}/bridge", "bridge"], env, stdin)
            delete = spawn([f"{bin_dir}/bridge", "bridge"], {**env, "CNI_COMMAND": "DEL"}, stdin)
            for call in (add, delete):
                if not call.ok:
                    sys.exit(f"{label}: {call.why()}")
            if i >= 2:
                s = samples[label]
                s["add"].append(add.wall_ms), s["add_cpu"].append(add.cpu_ms)
                s["del"].append(delete.wall_ms), s["del_cpu"].append(delete.cpu_ms)
        namespaces.remove_all()


if __name__ == "__main__":
    main(sys.argv[1:])
