"""Routes: add (with gateway, device, priority, table, scope, and the mtu/advmss metrics the
reference ignores) and list, in whatever namespace the socket was opened."""

# ruff: noqa: I001  (libcni.nl.socket installs the pyroute2 stub; it must be imported first)
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

from libcni.nl.socket import NLM_F_CREATE, RtnlSocket

from pyroute2.netlink.rtnl import RTM_GETROUTE, RTM_NEWROUTE  # noqa: E402  (stub installed by socket)
from pyroute2.netlink.rtnl.rtmsg import rtmsg  # noqa: E402

RT_TABLE_MAIN = 254
RTPROT_BOOT = 3
RT_SCOPE_UNIVERSE = 0
RTN_UNICAST = 1


@dataclass(frozen=True)
class RouteEntry:
    """One route read back from the kernel."""

    dst: str  # CIDR, "0.0.0.0/0" for default
    gw: str
    oif: int
    table: int
    priority: int


def add_route(
    sock: RtnlSocket,
    dst: str,
    gw: str = "",
    oif: int = 0,
    *,
    priority: int = 0,
    table: int | None = None,
    scope: int | None = None,
    mtu: int = 0,
    advmss: int = 0,
) -> None:
    net = ipaddress.ip_network(dst, strict=False)
    msg = rtmsg()
    msg["family"] = socket.AF_INET if net.version == 4 else socket.AF_INET6
    msg["dst_len"] = net.prefixlen
    msg["table"] = RT_TABLE_MAIN if table is None or table > 255 else table
    msg["proto"] = RTPROT_BOOT
    msg["type"] = RTN_UNICAST
    msg["scope"] = RT_SCOPE_UNIVERSE if scope is None else scope  # as Go: universe unless asked
    attrs: list = []
    if net.prefixlen:
        attrs.append(("RTA_DST", str(net.network_address)))
    if gw:
        attrs.append(("RTA_GATEWAY", gw))
    if oif:
        attrs.append(("RTA_OIF", oif))
    if priority:
        attrs.append(("RTA_PRIORITY", priority))
    if table is not None:
        attrs.append(("RTA_TABLE", table))
    metrics = [(k, v) for k, v in (("RTAX_MTU", mtu), ("RTAX_ADVMSS", advmss)) if v]
    if metrics:
        attrs.append(("RTA_METRICS", {"attrs": metrics}))
    msg["attrs"] = attrs
    sock.request(msg, RTM_NEWROUTE, NLM_F_CREATE, what=f"add route {dst} via {gw or 'link'}")


def list_routes(sock: RtnlSocket, family: int = 0, table: int | None = None) -> list[RouteEntry]:
    msg = rtmsg()
    msg["family"] = family
    out = []
    for reply in sock.dump(msg, RTM_GETROUTE, what="list routes"):
        rtable = reply.get_attr("RTA_TABLE") or reply["table"]
        if table is not None and rtable != table:
            continue
        fam = reply["family"]
        dst = reply.get_attr("RTA_DST") or ("0.0.0.0" if fam == socket.AF_INET else "::")
        out.append(
            RouteEntry(
                dst=f"{dst}/{reply['dst_len']}",
                gw=reply.get_attr("RTA_GATEWAY") or "",
                oif=reply.get_attr("RTA_OIF") or 0,
                table=rtable,
                priority=reply.get_attr("RTA_PRIORITY") or 0,
            )
        )
    return out


def route_get_oif(sock: RtnlSocket, ip: str) -> int:
    """Index of the output interface of the kernel's route to `ip` (RTM_GETROUTE, like `ip route get`)."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    msg = rtmsg()
    msg["family"] = family
    msg["dst_len"] = 128 if family == socket.AF_INET6 else 32
    msg["attrs"] = [("RTA_DST", ip)]
    replies = sock.request(msg, RTM_GETROUTE, what=f"route get {ip}")
    oif = replies[0].get_attr("RTA_OIF") if replies else None
    if not oif:
        raise LookupError(f"no route to {ip}")
    return int(oif)
