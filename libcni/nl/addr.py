"""Addresses: add and delete IPv4/IPv6 addresses on a link (CIDR text with host bits)."""

# ruff: noqa: I001  (libcni.nl.socket installs the pyroute2 stub; it must be imported first)
from __future__ import annotations

import errno
import ipaddress
import socket

from libcni.nl.socket import NLM_F_CREATE, NLM_F_EXCL, NetlinkError, RtnlSocket

from pyroute2.netlink.rtnl import RTM_DELADDR, RTM_NEWADDR  # noqa: E402  (stub installed by socket)
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg  # noqa: E402

IFA_F_NODAD = 0x02
IFA_F_TENTATIVE = 0x40
IFA_F_DADFAILED = 0x08
RT_SCOPE_UNIVERSE = 0


def _addr_msg(index: int, cidr: str, flags: int = 0) -> ifaddrmsg:
    iface = ipaddress.ip_interface(cidr)
    msg = ifaddrmsg()
    msg["family"] = socket.AF_INET if iface.version == 4 else socket.AF_INET6
    msg["prefixlen"] = iface.network.prefixlen
    msg["index"] = index
    msg["scope"] = RT_SCOPE_UNIVERSE
    ip = str(iface.ip)
    if iface.version == 4:
        attrs: list = [("IFA_LOCAL", ip), ("IFA_ADDRESS", ip)]
        if iface.network.prefixlen < 31:
            # Go's netlink sets the broadcast address too; keep the same kernel state.
            attrs.append(("IFA_BROADCAST", str(iface.network.broadcast_address)))
    else:
        attrs = [("IFA_ADDRESS", ip)]
    if flags:
        attrs.append(("IFA_FLAGS", flags))
    msg["attrs"] = attrs
    return msg


def add_address(sock: RtnlSocket, index: int, cidr: str, flags: int = 0) -> None:
    """Add `cidr` (e.g. 10.1.0.5/16) to the link; an identical existing address is an error (EEXIST).

    `flags` are IFA_F_* bits, e.g. IFA_F_NODAD for an address that must be usable at once.
    """
    sock.request(_addr_msg(index, cidr, flags), RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, what=f"add address {cidr}")


def delete_address(sock: RtnlSocket, index: int, cidr: str) -> bool:
    try:
        sock.request(_addr_msg(index, cidr), RTM_DELADDR, what=f"delete address {cidr}")
    except NetlinkError as err:
        if err.errno in (errno.EADDRNOTAVAIL, errno.ENODEV, errno.ENOENT):
            return False
        raise
    return True
