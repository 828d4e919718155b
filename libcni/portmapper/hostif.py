"""Find the host interface that routes to a container address, and turn on route_localnet there.

route_localnet lets 127.0.0.1:hostPort be DNATed out of that interface; the backends add a rule that
drops off-box packets with a 127.0.0.0/8 source, which route_localnet would otherwise route.
"""

from __future__ import annotations

import socket

from libcni import sysctl


def route_interface(ip: str) -> str:
    """Name of the output interface of the kernel's route to `ip` (RTM_GETROUTE, like `ip route get`)."""
    from libcni.nl import loader

    loader.install_stub()  # before any pyroute2 import: skip the 230 ms package __init__
    from pyroute2.netlink.rtnl import RTM_GETROUTE
    from pyroute2.netlink.rtnl.rtmsg import rtmsg

    from libcni.nl.socket import RtnlSocket

    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    msg = rtmsg()
    msg["family"] = family
    msg["dst_len"] = 128 if family == socket.AF_INET6 else 32
    msg["attrs"] = [("RTA_DST", ip)]
    with RtnlSocket() as sock:
        replies = sock.request(msg, RTM_GETROUTE, what=f"route get {ip}")
        oif = replies[0].get_attr("RTA_OIF") if replies else None
    if not oif:
        raise LookupError(f"no route to {ip}")
    return socket.if_indextoname(oif)


def enable_route_localnet(container_ip: str) -> str:
    name = route_interface(container_ip)
    sysctl.ensure(f"net/ipv4/conf/{name}/route_localnet", "1")
    return name
