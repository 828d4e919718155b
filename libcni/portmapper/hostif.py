"""Find the host interface that routes to a container address (where portmap turns on route_localnet).

route_localnet lets 127.0.0.1:hostPort be DNATed out of that interface; the backends add a rule that
drops off-box packets with a 127.0.0.0/8 source, which route_localnet would otherwise route.

The kernel answers (RTM_GETROUTE, policy routing included) through `ip -j route get`: one exec of
`ip` costs ~2 ms, while loading pyroute2's route codecs for this one request costs ~16 ms per ADD
(bench/README.md). When `ip` is missing or cannot answer in JSON, the netlink path in libcni.nl asks.
"""

from __future__ import annotations

import json

from libcni import proc


def route_interface(ip: str) -> str:
    """Name of the output interface of the kernel's route to `ip`; LookupError when there is none."""
    try:
        done = proc.run(["ip", "-j", "route", "get", ip])
    except OSError:
        return route_interface_netlink(ip)
    if done.returncode != 0:
        error = done.stderr.decode(errors="replace").strip()
        if error.startswith("RTNETLINK answers:"):  # the kernel's answer, e.g. "Network is unreachable"
            raise LookupError(f"route get {ip}: {error.split(':', 1)[1].strip()}")
        return route_interface_netlink(ip)
    try:
        return str(json.loads(done.stdout)[0]["dev"])
    except (ValueError, LookupError, TypeError):
        return route_interface_netlink(ip)


def route_interface_netlink(ip: str) -> str:
    """The same lookup over pyroute2's codecs (no `ip` binary needed)."""
    import socket

    from libcni.nl.route import route_get_oif
    from libcni.nl.socket import RtnlSocket

    with RtnlSocket() as sock:
        return socket.if_indextoname(route_get_oif(sock, ip))
