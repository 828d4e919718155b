"""Link changes beyond up/down: delete, set master, MAC, flags, and the link's peer/master lookups.

Idempotent where it can be: deleting a link that is already gone is success.
"""

# ruff: noqa: I001  (libcni.nl.socket installs the pyroute2 stub; it must be imported first)
from __future__ import annotations

import errno

from libcni.nl.socket import NetlinkError, RtnlSocket

from pyroute2.netlink.rtnl import RTM_DELLINK, RTM_NEWLINK  # noqa: E402  (stub installed by socket)
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg  # noqa: E402

IFF_PROMISC = 0x100


def _setlink(sock: RtnlSocket, index: int, attrs: list, what: str, flags: int = 0, change: int = 0) -> None:
    msg = ifinfmsg()
    msg["index"] = index
    msg["flags"] = flags
    msg["change"] = change
    msg["attrs"] = attrs
    sock.request(msg, RTM_NEWLINK, what=what)


def delete_link(sock: RtnlSocket, index: int = 0, name: str = "") -> bool:
    """Delete a link by index or name; False (not an error) when it does not exist."""
    msg = ifinfmsg()
    msg["index"] = index
    if name and not index:
        msg["attrs"] = [("IFLA_IFNAME", name)]
    try:
        sock.request(msg, RTM_DELLINK, what=f"delete link {name or index}")
    except NetlinkError as err:
        if err.errno in (errno.ENODEV, errno.ENOENT):
            return False
        raise
    return True


def set_master(sock: RtnlSocket, index: int, master: int) -> None:
    _setlink(sock, index, [("IFLA_MASTER", master)], f"set master of link {index} to {master}")


def set_mac(sock: RtnlSocket, index: int, mac: str) -> None:
    _setlink(sock, index, [("IFLA_ADDRESS", mac)], f"set MAC of link {index} to {mac}")


def set_promisc(sock: RtnlSocket, index: int, on: bool = True) -> None:
    _setlink(sock, index, [], f"set promisc on link {index}", IFF_PROMISC if on else 0, IFF_PROMISC)
