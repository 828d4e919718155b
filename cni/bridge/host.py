"""Host-side steps of bridge ADD: the bridge, the host veth as a bridge port, gateway addresses,
forwarding. Every function takes a netlink socket opened in the host (the plugin's) namespace."""

from __future__ import annotations

import errno
import ipaddress

from cni.bridge.config import BridgeConf
from libcni import sysctl
from libcni.errors import CNIError
from libcni.nl import bridge as nlbridge
from libcni.nl.iface import set_mac, set_master, set_promisc
from libcni.nl.link import Link, get_link, list_addresses, set_link_up
from libcni.nl.socket import NetlinkError, RtnlSocket


def _quiet_sysctl(name: str, value: str) -> None:
    try:
        sysctl.set(name, value)
    except OSError:
        pass  # e.g. IPv6 disabled: the reference ignores these too


def ensure_bridge(sock: RtnlSocket, conf: BridgeConf) -> Link:
    try:
        br = nlbridge.create_bridge(sock, conf.bridge, conf.mtu, conf.vlan_filtering)
    except nlbridge.NotABridge as err:
        raise CNIError(f'failed to create bridge "{conf.bridge}"', str(err)) from None
    if conf.promisc:
        set_promisc(sock, br.index)
    # We own the routes on the bridge: router advertisements must not add any.
    _quiet_sysctl(f"net/ipv6/conf/{conf.bridge}/accept_ra", "0")
    if not br.is_up:
        set_link_up(sock, br.index)
    return br


def apply_vlans(sock: RtnlSocket, conf: BridgeConf, index: int, vlan: int) -> None:
    """Access VLAN `vlan` (PVID, untagged) and the trunk VIDs (tagged) on a bridge port."""
    if not (vlan or conf.vlan_trunk):
        return
    if not conf.preserve_default_vlan:
        nlbridge.del_vlans(sock, index, [vid for vid, _flags in nlbridge.list_vlans(sock, index)])
    if vlan:
        nlbridge.add_vlans(sock, index, [vlan], pvid_untagged=True)
    elif conf.vlan_trunk:
        nlbridge.add_vlans(sock, index, [1], pvid_untagged=True)  # native VLAN of a trunk
    nlbridge.add_vlans(sock, index, [v for v in conf.vlan_trunk if v != vlan])


def attach_port(sock: RtnlSocket, conf: BridgeConf, name: str, br: Link, vlan: int, index: int = 0) -> int:
    """Bring the host veth up and make it a port of the bridge with the configured flags and VLANs.

    `index` is the veth's index when the caller knows it (the container end's IFLA_LINK): that saves
    reading the link by name. Returns the port's index.
    """
    if not index:
        link = get_link(sock, name)
        if link is None:
            raise CNIError(f'failed to look up host veth "{name}"')
        index = link.index
    set_link_up(sock, index)
    _quiet_sysctl(f"net/ipv6/conf/{name}/accept_ra", "0")
    set_master(sock, index, br.index)
    nlbridge.set_port_flags(sock, index, conf.hairpin, conf.port_isolation)
    apply_vlans(sock, conf, index, vlan)
    return index


def _conflicts(existing: str, wanted: ipaddress.IPv4Interface | ipaddress.IPv6Interface) -> bool:
    have = ipaddress.ip_interface(existing)
    if wanted.version == 4:
        return True
    return have.network.overlaps(wanted.network)


def ensure_gateway_addr(sock: RtnlSocket, link: Link, cidr: str, force: bool) -> None:
    """Put `cidr` (gateway/prefix) on the bridge; another v4 (or overlapping v6) address is replaced
    only with forceAddress."""
    from libcni.nl.addr import IFA_F_NODAD, add_address, delete_address

    wanted = ipaddress.ip_interface(cidr)
    family = 2 if wanted.version == 4 else 10
    for addr in list_addresses(sock, index=link.index, family=family):
        if addr.cidr == wanted.with_prefixlen:
            return
        if addr.scope != 0 or not _conflicts(addr.cidr, wanted):
            continue
        if not force:
            raise CNIError(f'"{link.name}" already has an IP address different from {wanted.with_prefixlen}')
        delete_address(sock, link.index, addr.cidr)
    # No DAD for the gateway: the subnet is ours, and a tentative gateway would drop the first
    # IPv6 packets of every new container for a second or two (the reference leaves it tentative).
    try:
        add_address(sock, link.index, wanted.with_prefixlen, IFA_F_NODAD if wanted.version == 6 else 0)
    except NetlinkError as err:
        # A concurrent ADD on the same new bridge added this very address after our read.
        if err.errno != errno.EEXIST:
            raise


def pin_mac(sock: RtnlSocket, index: int) -> str:
    """Set the bridge MAC to its current value so it stops following its ports (cni#285); return it."""
    link = get_link(sock, index=index)
    if link is not None and link.mac:
        set_mac(sock, index, link.mac)
        return link.mac
    return ""


def enable_forwarding(families: set[int]) -> None:
    if 4 in families:
        sysctl.ensure("net/ipv4/ip_forward", "1")
    if 6 in families:
        sysctl.ensure("net/ipv6/conf/all/forwarding", "1")
