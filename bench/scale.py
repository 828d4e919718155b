"""Parallel pod churn and scale sections: many containers on one bridge, many port mappings, big IPAM dirs."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from bench.impl import PORTMAP, ChainError, Impl, bridge_plugin, chain, conflist, fake_prev_result, mappings, total
from bench.runner import Call, Stats
from bench.sections import Bench, _chain_conf, pair, row

WORKERS = 16
PODS = 50


def _parallel_once(b: Bench, impl: Impl, third: int) -> dict:
    conf = _chain_conf(b, impl, f"pa{third}", third)
    nets = b.ns.make(PODS)
    cids = [b.cid("p") for _ in range(PODS)]

    def runtime(i: int) -> dict:
        return {"portMappings": mappings(1, 50000 + third * 100 + i)}

    def add(i: int) -> tuple[Call, dict | None]:
        try:
            result, calls = chain(impl, "ADD", conf, cids[i], nets[i], runtime(i), None)
        except ChainError as err:
            return Call(1, str(err).encode(), b"", 0, 0, 0), None
        return total(calls), result

    def delete(i: int, cached: dict) -> Call:
        try:
            return total(chain(impl, "DEL", conf, cids[i], nets[i], runtime(i), cached)[1])
        except ChainError as err:
            return Call(1, str(err).encode(), b"", 0, 0, 0)

    out: dict = {}
    with ThreadPoolExecutor(WORKERS) as pool:
        start = time.perf_counter()
        added = list(pool.map(add, range(PODS)))
        out["add_total_ms"] = round((time.perf_counter() - start) * 1000, 1)
        ips = Counter(ip["address"].split("/")[0] for _, res in added if res for ip in res.get("ips", []))
        out["duplicate_ips"] = sum(c - 1 for c in ips.values() if c > 1)
        start = time.perf_counter()
        deleted = list(pool.map(lambda i: delete(i, added[i][1]) if added[i][1] else None, range(PODS)))
        out["del_total_ms"] = round((time.perf_counter() - start) * 1000, 1)
    adds, dels = Stats(), Stats()
    for call, _ in added:
        adds.add(call)
    for call in deleted:
        if call is not None:
            dels.add(call)
    out["add"], out["del"] = adds.summary(), dels.summary()
    out["add_cpu_total_ms"] = round(sum(c.cpu_ms for c, _ in added), 1)
    out["del_cpu_total_ms"] = round(sum(c.cpu_ms for c in deleted if c), 1)
    return out


def sec_parallel(b: Bench) -> dict:
    """16 workers start 50 pods (whole chain each), then stop them; ours and Go one after the other."""
    skip = b.missing("bridge", "host-local", "portmap")
    if skip:
        return {"status": skip}
    runs = {"ours": [], "go": []}
    for i, impl in enumerate(b.impls(0) if b.quick else b.impls(0) + b.impls(1)):
        runs[impl.name].append(_parallel_once(b, impl, 50 + 2 * i))
    out: dict = {"workers": WORKERS, "pods": PODS, "runs": runs}
    best = {name: min(r, key=lambda x: x["add_total_ms"]) for name, r in runs.items()}
    for key in ("add_total_ms", "del_total_ms", "add_cpu_total_ms", "del_cpu_total_ms"):
        out[f"ratio_{key}"] = round(best["ours"][key] / best["go"][key], 2) if best["go"][key] else None
    return out


def _fill_go(b: Bench, work, count: int) -> None:
    """Make `count` containers' worth of state with the Go plugins (our plugins must accept it as is)."""
    with ThreadPoolExecutor(4) as pool:
        errors = [e for e in pool.map(work, range(count)) if e]
    if errors:
        raise RuntimeError(f"fill failed {len(errors)} times, first: {errors[0]}")


def _measure_alternating(b: Bench, conf_of, runtime_of, prev_of=None, n: int | None = None) -> list[dict]:
    """ADD then DEL one more container per sample, so the state size stays the same for every sample."""
    n = n or b.n
    stats = {"ADD": pair(), "DEL": pair()}
    nets = b.ns.make(2 * n)
    for i in range(n):
        for impl in b.impls(i):
            cid, netns = b.cid("s"), nets[2 * i + (impl.name == "go")]
            prev = prev_of(impl, i) if prev_of else None
            try:
                result, calls = chain(impl, "ADD", conf_of(impl), cid, netns, runtime_of(impl, i), prev)
                stats["ADD"][impl.name].add(total(calls))
                calls = chain(impl, "DEL", conf_of(impl), cid, netns, runtime_of(impl, i), result)[1]
                stats["DEL"][impl.name].add(total(calls))
            except ChainError as err:
                stats["ADD"][impl.name].add(Call(1, str(err).encode(), b"", 0, 0, 0))
    return [row(op, s) for op, s in stats.items()]


def sec_bridge_scale(b: Bench) -> dict:
    """ADD/DEL of the Nth container on one bridge (N-1 already attached), both suites on the same bridge."""
    skip = b.missing("bridge", "host-local")
    if skip:
        return {"status": skip}
    count = 50 if b.quick else 500
    conf = conflist("bnsc", bridge_plugin("bnsc0", "10.60.0.0/16", str(b.tmp / "scale-br")))
    nets = b.ns.make(count - 1)

    def fill(i: int) -> str | None:
        try:
            chain(b.go, "ADD", conf, f"bnfill{i}", nets[i], {}, None)
        except ChainError as err:
            return str(err)
        return None

    _fill_go(b, fill, count - 1)
    return {"existing": count - 1, "rows": _measure_alternating(b, lambda impl: conf, lambda impl, i: {})}


def sec_portmap_scale(b: Bench) -> dict:
    """portmap with 1/10/100 mappings in one call, then one mapping with N-1 containers already mapped."""
    skip = b.missing("portmap")
    if skip:
        return {"status": skip}
    conf = conflist("bnpms", PORTMAP)
    out: dict = {"rows": []}

    def prev(impl: Impl, i: int) -> dict:
        return fake_prev_result(f"10.{62 if impl.name == 'ours' else 63}.0.{i % 250 + 2}", "/run/netns/x")

    for size in (1, 10, 100):

        def runtime(impl: Impl, i: int, size: int = size) -> dict:
            return {"portMappings": mappings(size, 10000 if impl.name == "ours" else 11000)}

        # 100 mappings cost Go about a second per ADD: fewer samples in quick mode.
        rows = _measure_alternating(b, lambda impl: conf, runtime, prev, n=3 if b.quick and size == 100 else None)
        out["rows"] += [dict(r, op=f"{r['op']} {size} mapping(s)") for r in rows]
    count = 50 if b.quick else 500

    def fill(i: int) -> str | None:
        runtime = {"portMappings": mappings(1, 30000 + i)}
        try:
            chain(
                b.go,
                "ADD",
                conf,
                f"bnpmfill{i}",
                "/run/netns/x",
                runtime,
                fake_prev_result(f"10.64.{i // 250}.{i % 250 + 2}", "/run/netns/x"),
            )
        except ChainError as err:
            return str(err)
        return None

    _fill_go(b, fill, count - 1)
    rows = _measure_alternating(
        b,
        lambda impl: conf,
        lambda impl, i: {"portMappings": mappings(1, 12000 if impl.name == "ours" else 13000)},
        prev,
    )
    out["rows"] += [dict(r, op=f"{r['op']} 1 mapping, {count - 1} containers mapped") for r in rows]
    return out


def _fill_reservations(directory, network: str, count: int) -> None:
    net = directory / network
    net.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (net / f"10.66.{i // 250}.{i % 250 + 2}").write_bytes(f"bnres{i}\r\neth0".encode())


def sec_host_local_scale(b: Bench) -> dict:
    """host-local ADD/DEL with 10 and 1000 reservations on disk (both suites on the same dataDir)."""
    skip = b.missing("host-local")
    if skip:
        return {"status": skip}
    out: dict = {"rows": []}
    for count in (10, 1000):
        data_dir = b.tmp / f"hl-scale-{count}"
        _fill_reservations(data_dir, "bnhls", count)
        ipam = {"type": "host-local", "ranges": [[{"subnet": "10.66.0.0/16"}]], "dataDir": str(data_dir)}
        conf = conflist("bnhls", {"type": "host-local", "ipam": ipam})
        rows = _measure_alternating(b, lambda impl, c=conf: c, lambda impl, i: {})
        out["rows"] += [dict(r, op=f"{r['op']} with {count} reserved") for r in rows]
    return out
