"""The readable table: one block per section, ours vs Go, p50/p90 wall and CPU, ratio ours/Go."""

from __future__ import annotations

HEADER = (
    f"{'op':<44} {'ours p50/p90 ms':>16} {'go p50/p90 ms':>15} {'wall':>5} "
    f"{'ours cpu':>8} {'go cpu':>7} {'cpu':>5} {'rss MB o/g':>11}"
)


def _pair(s: dict, key: str) -> str:
    return f"{s[key + '_p50']:.1f}/{s[key + '_p90']:.1f}" if "wall_p50" in s else "-"


def _row(r: dict) -> str:
    o, g = r["ours"], r["go"]
    op = r["op"]
    fails = [f"{name} failed {s['failed']}/{s['n']}" for name, s in (("ours", o), ("go", g)) if s.get("failed")]
    cpu = lambda s: f"{s['cpu_p50']:.1f}" if "wall_p50" in s else "-"  # noqa: E731
    rss = f"{o.get('maxrss_kb', 0) / 1024:.0f}/{g.get('maxrss_kb', 0) / 1024:.0f}"
    line = (
        f"{op:<44} {_pair(o, 'wall'):>16} {_pair(g, 'wall'):>15} {r.get('ratio_wall_p50', '-'):>5} "
        f"{cpu(o):>8} {cpu(g):>7} {r.get('ratio_cpu_p50', '-'):>5} {rss:>11}"
    )
    for f in fails:
        line += f"\n    ! {f}: {(o if f.startswith('ours') else g)['errors'][:1]}"
    return line


def _parallel(result: dict) -> list[str]:
    lines = [f"  {result['workers']} workers x {result['pods']} pods, whole chain per pod; best run of each:"]
    for name, runs in result["runs"].items():
        best = min(runs, key=lambda x: x["add_total_ms"])
        a, d = best["add"], best["del"]
        lines.append(
            f"  {name:<5} start total {best['add_total_ms']:.0f} ms "
            f"(p50 {a.get('wall_p50', 0):.0f} / p90 {a.get('wall_p90', 0):.0f}, cpu {best['add_cpu_total_ms']:.0f} ms)"
            f"  stop total {best['del_total_ms']:.0f} ms "
            f"(p50 {d.get('wall_p50', 0):.0f} / p90 {d.get('wall_p90', 0):.0f}, cpu {best['del_cpu_total_ms']:.0f} ms)"
            f"  duplicate IPs: {best['duplicate_ips']}  failed: {a.get('failed', 0)}+{d.get('failed', 0)}"
        )
    lines.append(
        f"  ratio ours/go: start {result['ratio_add_total_ms']}, stop {result['ratio_del_total_ms']} "
        f"(cpu: {result['ratio_add_cpu_total_ms']}, {result['ratio_del_cpu_total_ms']})"
    )
    return lines


def section_text(name: str, result: dict) -> str:
    lines = [f"\n== {name} ({result.get('seconds', 0)} s)"]
    if "status" in result:
        lines.append(f"  {result['status']}")
    elif "runs" in result:
        lines += _parallel(result)
    else:
        if "existing" in result:
            lines.append(f"  {result['existing']} containers already on the bridge")
        lines.append(HEADER)
        lines += [_row(r) for r in result["rows"]]
    return "\n".join(lines)


def footer(doc: dict) -> str:
    m = doc["machine"]
    before, after = doc["before"]["loadavg"], doc["after"]["loadavg"]
    return (
        f"\nours={doc['ours']} go={doc['go']} quick={doc['quick']}  {m['nproc']} CPUs, kernel {m['kernel']}\n"
        f"load average before {before[0]:.2f} {before[1]:.2f}, after {after[0]:.2f} {after[1]:.2f}. "
        "wall = whole process incl. children; cpu = user+sys of the call's process tree (wait4);"
        " ratio = ours/go at p50."
    )
