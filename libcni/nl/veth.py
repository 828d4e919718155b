"""veth pairs created the cheap way: from inside the container netns, peer straight into the host.

The container end gets its final name (CNI_IFNAME) and the host end is born in the host namespace
(IFLA_NET_NS_FD on the peer), so nothing is moved or renamed afterwards; moving a device costs an
RCU grace period (~20 ms) per call. Call these with a socket opened inside the container netns.
"""

# ruff: noqa: I001  (libcni.nl.socket installs the pyroute2 stub; it must be imported first)
from __future__ import annotations

import errno
import os

from pyroute2.netlink.rtnl import RTM_NEWLINK  # noqa: E402  (stub installed by socket)
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg  # noqa: E402

from libcni.nl.link import Link, get_link
from libcni.nl.socket import NLM_F_CREATE, NLM_F_EXCL, NetlinkError, RtnlSocket

_NAME_TRIES = 10


class ContainerIfaceExists(Exception):
    """CNI_IFNAME is already taken inside the container."""


def random_host_name() -> str:
    """`veth` + 8 hex digits, as the reference names the host end."""
    return "veth" + os.urandom(4).hex()


def _veth_msg(name: str, peer: str, host_ns_fd: int, mtu: int, mac: str) -> ifinfmsg:
    own: list = [("IFLA_IFNAME", name)]
    peer_attrs: list = [("IFLA_IFNAME", peer), ("IFLA_NET_NS_FD", host_ns_fd)]
    if mtu:
        own.append(("IFLA_MTU", mtu))
        peer_attrs.append(("IFLA_MTU", mtu))
    if mac:
        own.append(("IFLA_ADDRESS", mac))
    info = {
        "attrs": [
            ("IFLA_INFO_KIND", "veth"),
            ("IFLA_INFO_DATA", {"attrs": [("VETH_INFO_PEER", {"attrs": peer_attrs})]}),
        ]
    }
    msg = ifinfmsg()
    msg["attrs"] = [*own, ("IFLA_LINKINFO", info)]
    return msg


def create_veth(sock: RtnlSocket, ifname: str, host_ns_fd: int, mtu: int = 0, mac: str = "") -> tuple[Link, str]:
    """Create `ifname` here with its peer `vethXXXXXXXX` in `host_ns_fd`; return (container link, host name).

    A clash on the random host name is retried; a clash on `ifname` raises ContainerIfaceExists.
    """
    for _ in range(_NAME_TRIES):
        host_name = random_host_name()
        try:
            sock.request(
                _veth_msg(ifname, host_name, host_ns_fd, mtu, mac),
                RTM_NEWLINK,
                NLM_F_CREATE | NLM_F_EXCL,
                what=f"create veth {ifname}/{host_name}",
            )
        except NetlinkError as err:
            if err.errno != errno.EEXIST:
                raise
            if get_link(sock, ifname) is not None:
                raise ContainerIfaceExists(ifname) from None
            continue  # the host name is taken in the host netns: pick another
        link = get_link(sock, ifname)
        if link is None:
            raise NetlinkError(errno.ENODEV, f"veth {ifname} vanished after creation")
        return link, host_name
    raise NetlinkError(errno.EEXIST, f"could not find a free host veth name after {_NAME_TRIES} tries")
