"""Links: look up, bring up or down, and list addresses. Everything here is idempotent where it can be."""

from __future__ import annotations

import errno
from dataclasses import dataclass, field

from pyroute2.netlink.rtnl import RTM_GETADDR, RTM_GETLINK, RTM_NEWLINK
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

from libcni.nl.socket import NetlinkError, RtnlSocket

IFF_UP = 0x1
SOL_NETLINK = 270
NETLINK_GET_STRICT_CHK = 12


@dataclass
class Link:
    """A link as RTM_GETLINK reports it."""

    index: int
    name: str
    flags: int
    mac: str
    mtu: int
    kind: str = ""
    master: int = 0
    oper_state: str = ""
    raw: object = field(default=None, repr=False)

    @property
    def is_up(self) -> bool:
        return bool(self.flags & IFF_UP)


@dataclass
class Address:
    """An address as RTM_GETADDR reports it."""

    index: int
    family: int
    address: str
    prefixlen: int
    scope: int
    flags: int

    @property
    def cidr(self) -> str:
        return f"{self.address}/{self.prefixlen}"


def _to_link(msg: ifinfmsg) -> Link:
    linkinfo = msg.get_attr("IFLA_LINKINFO")
    kind = linkinfo.get_attr("IFLA_INFO_KIND") if linkinfo is not None else None
    return Link(
        index=msg["index"],
        name=msg.get_attr("IFLA_IFNAME"),
        flags=msg["flags"],
        mac=msg.get_attr("IFLA_ADDRESS") or "",
        mtu=msg.get_attr("IFLA_MTU") or 0,
        kind=kind or "",
        master=msg.get_attr("IFLA_MASTER") or 0,
        oper_state=msg.get_attr("IFLA_OPERSTATE") or "",
        raw=msg,
    )


def get_link(sock: RtnlSocket, name: str = "", index: int = 0) -> Link | None:
    """The link with this name (or index), or None if there is none."""
    msg = ifinfmsg()
    msg["index"] = index
    if name:
        msg["attrs"] = [("IFLA_IFNAME", name)]
    try:
        replies = sock.request(msg, RTM_GETLINK, what=f"get link {name or index}")
    except NetlinkError as err:
        if err.errno in (errno.ENODEV, errno.ENOENT):
            return None
        raise
    return _to_link(replies[0]) if replies else None


def set_link_up(sock: RtnlSocket, index: int, up: bool = True) -> None:
    msg = ifinfmsg()
    msg["index"] = index
    msg["flags"] = IFF_UP if up else 0
    msg["change"] = IFF_UP
    sock.request(msg, RTM_NEWLINK, what=f"set link {index} {'up' if up else 'down'}")


def _strict_dumps(sock: RtnlSocket, on: bool) -> bool:
    """NETLINK_GET_STRICT_CHK: the kernel (4.20+) then filters dumps by the header's index."""
    try:
        sock.sock.setsockopt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, int(on))
    except OSError:
        return False  # an older kernel: the client-side filter below still applies
    return True


def list_addresses(sock: RtnlSocket, index: int = 0, family: int = 0) -> list[Address]:
    """Addresses of the namespace, or of link `index` only.

    With an index the kernel filters the dump itself: a host with hundreds of veths has an IPv6
    link-local address on each, and decoding every one of them costs far more than the request.
    """
    msg = ifaddrmsg()
    msg["family"] = family
    msg["index"] = index
    strict = bool(index) and _strict_dumps(sock, True)
    try:
        replies = sock.dump(msg, RTM_GETADDR, what="list addresses")
    finally:
        if strict:
            _strict_dumps(sock, False)
    out = []
    for reply in replies:
        if index and reply["index"] != index:
            continue
        address = reply.get_attr("IFA_LOCAL") or reply.get_attr("IFA_ADDRESS")
        out.append(
            Address(
                index=reply["index"],
                family=reply["family"],
                address=address,
                prefixlen=reply["prefixlen"],
                scope=reply["scope"],
                flags=reply.get_attr("IFA_FLAGS") or reply["flags"],
            )
        )
    return out
