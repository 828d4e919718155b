"""The benchmark sections. Each returns a dict (rows of ours-vs-Go summaries) or a skip reason.

Ours and Go run alternately inside one section (ours first on even iterations, Go first on odd ones),
so drift in machine load hits both alike. Each implementation gets its own bridge, subnet and dataDir
unless a section measures both on the same state on purpose (scale sections).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

from bench.impl import PORTMAP, ChainError, Impl, bridge_plugin, chain, conflist, fake_prev_result, mappings, total
from bench.runner import Call, Namespaces, Stats


class Bench:
    def __init__(self, ours: Impl, go: Impl, quick: bool, tmp: Path, ns: Namespaces) -> None:
        self.ours, self.go, self.quick, self.tmp, self.ns = ours, go, quick, tmp, ns
        self.n = 5 if quick else 30
        self._ids = itertools.count()

    def impls(self, i: int) -> list[Impl]:
        return [self.ours, self.go] if i % 2 == 0 else [self.go, self.ours]

    def cid(self, tag: str) -> str:
        return f"bn{tag}{next(self._ids)}"

    def missing(self, *plugins: str) -> str | None:
        for impl in (self.ours, self.go):
            gone = [p for p in plugins if not impl.has(p)]
            if gone:
                who = "ours" if impl is self.ours else "go"
                return f"skipped: {who} not built yet ({', '.join(gone)})"
        return None


def row(op: str, stats: dict[str, Stats]) -> dict:
    ours, go = stats["ours"].summary(), stats["go"].summary()
    out = {"op": op, "ours": ours, "go": go}
    # A ratio only when every sample on both sides succeeded: a failure is usually a fast early exit.
    if ours.get("n") and go.get("n") and not ours["failed"] and not go["failed"]:
        out["ratio_wall_p50"] = round(ours["wall_p50"] / go["wall_p50"], 2)
        out["ratio_cpu_p50"] = round(ours["cpu_p50"] / go["cpu_p50"], 2)
    return out


def pair() -> dict[str, Stats]:
    return {"ours": Stats(), "go": Stats()}


def sequential(
    b: Bench,
    conflist_of: Callable[[Impl], dict],
    runtime_of: Callable[[Impl, int], dict],
    prev_of=None,
    n: int | None = None,
    with_check: bool = True,
) -> list[dict]:
    """ADD n containers per implementation, then CHECK each, then DEL each; one sample per chain run."""
    n = n or b.n
    nets = {impl.name: b.ns.make(n) for impl in (b.ours, b.go)}
    cids = {impl.name: [b.cid(impl.name[0]) for _ in range(n)] for impl in (b.ours, b.go)}
    results: dict[tuple[str, int], dict | None] = {}
    rows = []
    for command in ("ADD", "CHECK", "DEL") if with_check else ("ADD", "DEL"):
        stats = pair()
        for i in range(n):
            for impl in b.impls(i):
                key = (impl.name, i)
                if command != "ADD" and key not in results:
                    continue  # its ADD failed
                prev = results.get(key) if command != "ADD" else (prev_of(impl, i) if prev_of else None)
                args = (
                    impl,
                    command,
                    conflist_of(impl),
                    cids[impl.name][i],
                    nets[impl.name][i],
                    runtime_of(impl, i),
                    prev,
                )
                try:
                    result, calls = chain(*args)
                except ChainError as err:
                    stats[impl.name].add(Call(1, str(err).encode(), b"", 0, 0, 0))
                    continue
                stats[impl.name].add(total(calls))
                if command == "ADD":
                    results[key] = result
        rows.append(row(command, stats))
    return rows


def _no_runtime(impl: Impl, i: int) -> dict:
    return {}


def sec_loopback(b: Bench) -> dict:
    skip = b.missing("loopback")
    if skip:
        return {"status": skip}
    conf = conflist("bnlo", {"type": "loopback"})
    return {"rows": sequential(b, lambda impl: conf, _no_runtime)}


def _subnet(impl: Impl, third: int) -> str:
    return f"10.{third + (0 if impl.name == 'ours' else 1)}.0.0/16"


def sec_host_local(b: Bench) -> dict:
    skip = b.missing("host-local")
    if skip:
        return {"status": skip}

    def conf(impl: Impl) -> dict:
        ipam = {
            "type": "host-local",
            "ranges": [[{"subnet": _subnet(impl, 40)}]],
            "dataDir": str(b.tmp / f"hl-{impl.name}"),
        }
        return conflist("bnhl", {"type": "host-local", "ipam": ipam})

    return {"rows": sequential(b, conf, _no_runtime)}


def sec_bridge(b: Bench) -> dict:
    skip = b.missing("bridge", "host-local")
    if skip:
        return {"status": skip}

    def conf(impl: Impl) -> dict:
        return conflist("bnbr", bridge_plugin(f"bnbr{impl.name[0]}", _subnet(impl, 42), str(b.tmp / f"br-{impl.name}")))

    return {"rows": sequential(b, conf, _no_runtime)}


def sec_bridge_exec_ipam(b: Bench) -> dict:
    """Our bridge forced to exec host-local (PYCNI_IPAM_EXEC=1), as Go always does, vs Go."""
    skip = b.missing("bridge", "host-local")
    if skip:
        return {"status": skip}
    forced = Impl("ours", b.ours.bin_dir, {"PYCNI_IPAM_EXEC": "1"})
    default = b.ours
    b.ours = forced
    try:
        return sec_bridge(b)
    finally:
        b.ours = default


def _port_base(impl: Impl) -> int:
    return 20000 if impl.name == "ours" else 40000


def sec_portmap(b: Bench) -> dict:
    skip = b.missing("portmap")
    if skip:
        return {"status": skip}
    conf = conflist("bnpm", PORTMAP)

    def prev(impl: Impl, i: int) -> dict:
        return fake_prev_result(f"10.{44 if impl.name == 'ours' else 45}.{i // 250}.{i % 250 + 2}", "/run/netns/x")

    def runtime(impl: Impl, i: int) -> dict:
        return {"portMappings": mappings(1, _port_base(impl) + i)}

    return {"rows": sequential(b, lambda impl: conf, runtime, prev_of=prev)}


def _chain_conf(b: Bench, impl: Impl, tag: str, third: int) -> dict:
    return conflist(
        f"bn{tag}",
        bridge_plugin(f"bn{tag}{impl.name[0]}", _subnet(impl, third), str(b.tmp / f"{tag}-{impl.name}")),
        PORTMAP,
    )


def sec_chain(b: Bench) -> dict:
    skip = b.missing("bridge", "host-local", "portmap")
    if skip:
        return {"status": skip}
    confs = {impl.name: _chain_conf(b, impl, "ch", 46) for impl in (b.ours, b.go)}

    def runtime(impl: Impl, i: int) -> dict:
        return {"portMappings": mappings(1, _port_base(impl) + 1000 + i)}

    return {"rows": sequential(b, lambda impl: confs[impl.name], runtime)}
