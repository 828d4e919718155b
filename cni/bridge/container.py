"""Container-side steps of bridge ADD (the reference's ipam.ConfigureIface plus bridge's sysctls).

Run inside the container netns with a socket opened there. Route `mtu` and `advmss` are applied
(the reference drops them). IPv6 DAD is only waited for when `enabledad` turned it on.
"""

from __future__ import annotations

from libcni import sysctl
from libcni.errors import CNIError
from libcni.nl.link import Link, list_addresses, set_link_up
from libcni.nl.socket import RtnlSocket
from libcni.types import IPConfig, Route

DAD_TIMEOUT = 5.0


def _quiet(name: str, value: str) -> None:
    try:
        sysctl.set(name, value)
    except OSError:
        pass


def dad_sysctls(ifname: str, enable_dad: bool) -> None:
    if enable_dad:
        _quiet(f"net/ipv6/conf/{ifname}/enhanced_dad", "1")
        _quiet(f"net/ipv6/conf/{ifname}/accept_dad", "1")
    else:
        _quiet(f"net/ipv6/conf/{ifname}/accept_dad", "0")
    _quiet(f"net/ipv4/conf/{ifname}/arp_notify", "1")


def _enable_ipv6(ifname: str) -> None:
    for name in ("lo", ifname):
        try:
            sysctl.ensure(f"net/ipv6/conf/{name}/disable_ipv6", "0")
        except OSError as err:
            raise CNIError(f"failed to enable IPv6 on {name}", str(err)) from None
    _quiet(f"net/ipv6/conf/{ifname}/keep_addr_on_down", "1")


def _settle(sock: RtnlSocket, index: int) -> None:
    """Wait (on address events) until no IPv6 address of the link is tentative."""
    import time

    from libcni.nl.addr import IFA_F_DADFAILED, IFA_F_TENTATIVE
    from libcni.nl.socket import RtnlSocket as Sock

    deadline = time.monotonic() + DAD_TIMEOUT
    with Sock(groups=0x100) as events:  # RTMGRP_IPV6_IFADDR
        while True:
            addrs = list_addresses(sock, index=index, family=10)
            failed = [a.cidr for a in addrs if a.flags & IFA_F_DADFAILED]
            if failed:
                raise CNIError("IPv6 duplicate address detection failed", ", ".join(failed))
            left = deadline - time.monotonic()
            if not any(a.flags & IFA_F_TENTATIVE for a in addrs) or left <= 0:
                return
            events.recv_events({}, min(left, 0.2))


def configure(sock: RtnlSocket, link: Link, ips: list[IPConfig], routes: list[Route], enable_dad: bool) -> None:
    from libcni.nl.addr import add_address

    gateways: dict[int, str] = {}
    if any(ip.family == 6 for ip in ips):
        _enable_ipv6(link.name)
    for ip in ips:
        try:
            add_address(sock, link.index, ip.address)
        except OSError as err:
            raise CNIError(f"failed to add IP addr {ip.address} to {link.name}", str(err)) from None
        if ip.gateway:
            gateways.setdefault(ip.family, ip.gateway)
    set_link_up(sock, link.index)
    if enable_dad and 6 in gateways:
        _settle(sock, link.index)
    if routes:  # pyroute2's route codec is a separate import (~1 ms): only when there is a route to add
        from libcni.nl.route import add_route
    for route in routes:
        gw = route.gw or gateways.get(route.family, "")
        try:
            add_route(
                sock,
                route.dst,
                gw,
                link.index,
                priority=route.priority,
                table=route.table,
                scope=route.scope,
                mtu=route.mtu,
                advmss=route.advmss,
            )
        except OSError as err:
            raise CNIError(f"failed to add route {route.dst} via {gw or link.name}", str(err)) from None
