"""What a person asks about a node: which networks exist, which versions each plugin speaks, and what
an attachment looks like now (cached result plus live addresses, routes and counters).

Live state is read with `ip -j` run inside the attachment's netns (`nsenter --net=<path>`): this is an
interactive tool, so one exec is cheaper to read and trust than entering the namespace ourselves.
"""

from __future__ import annotations

import json
import os

from libcni import proc
from libcni.client import cache
from libcni.client.api import CNIConfig, RuntimeConf
from libcni.client.conf import NetworkConfigList, list_networks
from libcni.errors import CNIError


def networks(conf_dir: str) -> list[dict]:
    """One entry per config file: its network and plugins, or why it does not load."""
    out = []
    for path, found in list_networks(conf_dir):
        if isinstance(found, CNIError):
            out.append({"file": path, "error": str(found)})
            continue
        caps = sorted({c for p in found.plugins for c, on in p.capabilities.items() if on})
        entry: dict = {"file": path, "name": found.name, "cniVersion": found.cni_version}
        entry["plugins"] = [p.type for p in found.plugins]
        entry["capabilities"] = caps
        out.append(entry)
    return out


def plugin_types(client: CNIConfig, conflist: NetworkConfigList | None) -> list[str]:
    """The plugins of one network, or every regular file in CNI_PATH."""
    if conflist is not None:
        return list(dict.fromkeys(p.type for p in conflist.plugins))
    names: dict[str, None] = {}
    for directory in client.path:
        try:
            entries = sorted(os.listdir(directory))
        except OSError:
            continue
        names.update((n, None) for n in entries if not n.startswith(".") and os.path.isfile(os.path.join(directory, n)))
    return list(names)


def versions(client: CNIConfig, conflist: NetworkConfigList | None) -> list[dict]:
    """Each plugin's VERSION answer; with a network, whether it supports the network's version."""
    rows = []
    for ptype in plugin_types(client, conflist):
        row: dict = {"type": ptype}
        try:
            row["supportedVersions"] = client.get_version_info(ptype)
        except CNIError as err:
            row["error"] = str(err)
        if conflist is not None and "supportedVersions" in row:
            row["supportsNetworkVersion"] = (conflist.cni_version or "0.1.0") in row["supportedVersions"]
        rows.append(row)
    return rows


def _ip_json(netns: str, *argv: str) -> list:
    done = proc.run(["nsenter", f"--net={netns}", "ip", "-j", *argv])
    if done.returncode != 0:
        raise CNIError(f"ip {' '.join(argv)} in {netns} failed", done.stderr.decode(errors="replace").strip())
    return json.loads(done.stdout or b"[]")


def live_state(netns: str, ifname: str) -> dict:
    """The interface's addresses, counters and the namespace's routes, as `ip -j` reports them."""
    if not os.path.exists(netns):
        return {"error": f"netns {netns} does not exist"}
    try:
        links = _ip_json(netns, "-s", "addr", "show", "dev", ifname)
        routes = _ip_json(netns, "route", "show", "table", "all")
    except (CNIError, OSError, ValueError) as err:
        return {"error": str(err)}
    link = links[0] if links else {}
    stats = link.get("stats64", {})
    return {
        "interface": ifname,
        "state": link.get("operstate", ""),
        "mac": link.get("address", ""),
        "mtu": link.get("mtu", 0),
        "addresses": [f"{a['local']}/{a['prefixlen']}" for a in link.get("addr_info", [])],
        "rx": {k: stats.get("rx", {}).get(k, 0) for k in ("packets", "bytes", "errors", "dropped")},
        "tx": {k: stats.get("tx", {}).get(k, 0) for k in ("packets", "bytes", "errors", "dropped")},
        "routes": [r for r in routes if r.get("type", "unicast") == "unicast" and r.get("table") != "local"],
    }


def attachment(client: CNIConfig, conflist: NetworkConfigList, rt: RuntimeConf) -> dict:
    """The cached entry of one attachment (as Go libcni wrote it) and its live state."""
    raw = cache.read_raw(client.cache_dir, conflist.name, rt.container_id, rt.ifname)
    entry = cache.decode(raw) if raw else None
    doc: dict = {"network": conflist.name, "containerId": rt.container_id, "ifName": rt.ifname, "netns": rt.netns}
    doc["cacheFile"] = cache.cache_path(client.cache_dir, conflist.name, rt.container_id, rt.ifname)
    doc["cached"] = entry is not None
    if entry is not None:
        doc["result"] = entry.result
        doc["cniArgs"] = [list(p) for p in entry.cni_args]
        doc["capabilityArgs"] = entry.capability_args
    doc["live"] = live_state(rt.netns, rt.ifname)
    return doc


def format_route(route: dict) -> str:
    text = route.get("dst", "")
    if route.get("gateway"):
        text += f" via {route['gateway']}"
    if route.get("dev"):
        text += f" dev {route['dev']}"
    return text


def format_attachment(doc: dict) -> str:
    """Human-readable view of `attachment()`."""
    lines = [f"network {doc['network']}  container {doc['containerId']}  {doc['ifName']} in {doc['netns']}"]
    if not doc["cached"]:
        lines.append(f"  no cached result ({doc['cacheFile']})")
    else:
        result = doc.get("result") or {}
        lines.append(f"  cached result ({result.get('cniVersion', '?')}), {doc['cacheFile']}:")
        for ip in result.get("ips", []):
            gw = f" gateway {ip['gateway']}" if ip.get("gateway") else ""
            lines.append(f"    ip {ip['address']}{gw}")
        for route in result.get("routes", []):
            lines.append(f"    route {route['dst']}" + (f" via {route['gw']}" if route.get("gw") else ""))
        if doc.get("capabilityArgs"):
            lines.append(f"    capabilityArgs {json.dumps(doc['capabilityArgs'], sort_keys=True)}")
    live = doc["live"]
    if "error" in live:
        lines.append(f"  live: {live['error']}")
        return "\n".join(lines)
    lines.append(f"  live: {live['interface']} {live['state']} mac {live['mac']} mtu {live['mtu']}")
    lines += [f"    addr {a}" for a in live["addresses"]]
    for way in ("rx", "tx"):
        c = live[way]
        lines.append(f"    {way} {c['packets']} packets {c['bytes']} bytes {c['errors']} errors {c['dropped']} dropped")
    lines += [f"    route {format_route(r)}" for r in live["routes"]]
    return "\n".join(lines)
