"""Linux bridges and their ports: create or adopt a bridge, port flags, and port VLANs.

Port flags go through IFLA_INFO_SLAVE_DATA (what `ip link set X type bridge_slave` sends); VLANs
through an AF_BRIDGE RTM_SETLINK/RTM_DELLINK with IFLA_AF_SPEC, ranges sent as one begin/end pair.
"""

# ruff: noqa: I001  (libcni.nl.socket installs the pyroute2 stub; it must be imported first)
from __future__ import annotations

import errno
import socket

from libcni.nl.link import Link, get_link
from libcni.nl.socket import NLM_F_CREATE, NLM_F_EXCL, NetlinkError, RtnlSocket

from pyroute2.netlink.rtnl import RTM_DELLINK, RTM_GETLINK, RTM_NEWLINK, RTM_SETLINK  # noqa: E402
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg  # noqa: E402

AF_BRIDGE = socket.AF_BRIDGE
VLAN_PVID = 0x2
VLAN_UNTAGGED = 0x4
VLAN_RANGE_BEGIN = 0x8
VLAN_RANGE_END = 0x10
RTEXT_FILTER_BRVLAN = 0x2


class NotABridge(Exception):
    def __init__(self, name: str, kind: str) -> None:
        super().__init__(f"{name!r} already exists but is not a bridge (kind {kind or 'unknown'!r})")


def create_bridge(sock: RtnlSocket, name: str, mtu: int = 0, vlan_filtering: bool = False) -> Link:
    """Create the bridge if missing (EEXIST is fine) and return it; a non-bridge of that name raises.

    An existing link is left as it is (MTU, VLAN filtering), exactly as a create that got EEXIST; it is
    read first because nearly every call finds the bridge already there (one request instead of two).
    """
    link = get_link(sock, name)
    if link is None:
        _create(sock, name, mtu, vlan_filtering)
        link = get_link(sock, name)
    if link is None:
        raise NetlinkError(errno.ENODEV, f"bridge {name} vanished after creation")
    if link.kind != "bridge":
        raise NotABridge(name, link.kind)
    return link


def _create(sock: RtnlSocket, name: str, mtu: int, vlan_filtering: bool) -> None:
    info: list = [("IFLA_INFO_KIND", "bridge")]
    if vlan_filtering:
        info.append(("IFLA_INFO_DATA", {"attrs": [("IFLA_BR_VLAN_FILTERING", 1)]}))
    attrs: list = [("IFLA_IFNAME", name), ("IFLA_LINKINFO", {"attrs": info})]
    if mtu:
        attrs.append(("IFLA_MTU", mtu))
    msg = ifinfmsg()
    msg["attrs"] = attrs
    try:
        sock.request(msg, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, what=f"create bridge {name}")
    except NetlinkError as err:
        if err.errno != errno.EEXIST:  # EEXIST: a concurrent call made it first
            raise


def set_port_flags(sock: RtnlSocket, index: int, hairpin: bool, isolated: bool) -> None:
    """Hairpin and isolation of a bridge port (the link must already be enslaved)."""
    data = [("IFLA_BRPORT_MODE", int(hairpin)), ("IFLA_BRPORT_ISOLATED", int(isolated))]
    info = {"attrs": [("IFLA_INFO_SLAVE_KIND", "bridge"), ("IFLA_INFO_SLAVE_DATA", {"attrs": data})]}
    msg = ifinfmsg()
    msg["index"] = index
    msg["attrs"] = [("IFLA_LINKINFO", info)]
    sock.request(msg, RTM_NEWLINK, what=f"set bridge port flags on link {index}")


def _vlan_msg(index: int, entries: list[tuple[int, int]]) -> ifinfmsg:
    msg = ifinfmsg()
    msg["family"] = AF_BRIDGE
    msg["index"] = index
    infos = [("IFLA_BRIDGE_VLAN_INFO", {"flags": f, "vid": v}) for f, v in entries]
    msg["attrs"] = [("IFLA_AF_SPEC", {"attrs": infos})]
    return msg


def _entries(vids: list[int], flags: int) -> list[tuple[int, int]]:
    """Sorted VIDs as single entries or begin/end ranges (PVID entries cannot be ranges)."""
    out: list[tuple[int, int]] = []
    vids = sorted(set(vids))
    i = 0
    while i < len(vids):
        j = i
        while j + 1 < len(vids) and vids[j + 1] == vids[j] + 1 and not flags & VLAN_PVID:
            j += 1
        if j > i:
            out += [(flags | VLAN_RANGE_BEGIN, vids[i]), (flags | VLAN_RANGE_END, vids[j])]
        else:
            out.append((flags, vids[i]))
        i = j + 1
    return out


def add_vlans(sock: RtnlSocket, index: int, vids: list[int], pvid_untagged: bool = False) -> None:
    if not vids:
        return
    flags = VLAN_PVID | VLAN_UNTAGGED if pvid_untagged else 0
    sock.request(_vlan_msg(index, _entries(vids, flags)), RTM_SETLINK, what=f"add VLANs {vids} on link {index}")


def del_vlans(sock: RtnlSocket, index: int, vids: list[int]) -> None:
    if vids:
        sock.request(_vlan_msg(index, _entries(vids, 0)), RTM_DELLINK, what=f"delete VLANs {vids} on link {index}")


def list_vlans(sock: RtnlSocket, index: int) -> list[tuple[int, int]]:
    """(vid, flags) of every VLAN on a bridge port."""
    msg = ifinfmsg()
    msg["family"] = AF_BRIDGE
    msg["attrs"] = [("IFLA_EXT_MASK", RTEXT_FILTER_BRVLAN)]
    out: list[tuple[int, int]] = []
    for reply in sock.dump(msg, RTM_GETLINK, what="list bridge VLANs"):
        if reply["index"] != index:
            continue
        spec = reply.get_attr("IFLA_AF_SPEC")
        for name, value in (spec.get("attrs") if spec is not None else []) or []:
            if name == "IFLA_BRIDGE_VLAN_INFO":
                out.append((value["vid"], value["flags"]))
    return out
