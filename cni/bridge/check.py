"""bridge CHECK: compare the kernel with prevResult, as the reference does.

IPAM CHECK runs only in L3 mode (the reference calls an empty IPAM in L2 mode and fails).
"""

from __future__ import annotations

import ipaddress

from cni.bridge.config import BridgeConf
from libcni import skel
from libcni.errors import CNIError
from libcni.netns import NetNS
from libcni.types import Result


def _find(result: Result, name: str, sandbox: str | None = None) -> int:
    for i, iface in enumerate(result.interfaces):
        if iface.name == name and (sandbox is None or iface.sandbox == sandbox):
            return i
    raise CNIError(f'interface "{name}" not found in prevResult')


def run(args: skel.CmdArgs, conf: BridgeConf) -> None:
    from libcni.nl.link import IFF_UP, get_link
    from libcni.nl.socket import RtnlSocket

    prev = conf.net.prev_result
    if prev is None:
        raise CNIError("Required prevResult missing")
    if conf.is_layer3:
        from cni.bridge import ipam

        ipam.run("CHECK", args, conf.net.ipam_type)
    br_entry = prev.interfaces[_find(prev, conf.bridge)]
    cont_index = _find(prev, args.ifname, args.netns)
    cont_entry = prev.interfaces[cont_index]
    with RtnlSocket() as hsock:
        br = get_link(hsock, conf.bridge)
        if br is None or br.kind != "bridge":
            raise CNIError(f'bridge "{conf.bridge}" not found or not a bridge')
        if br_entry.mac and br.mac != br_entry.mac:
            raise CNIError(f"bridge {conf.bridge} has MAC {br.mac}, prevResult says {br_entry.mac}")
        if bool(br.flags & 0x100) != conf.promisc:
            raise CNIError(f"bridge {conf.bridge} promiscuous mode is not {conf.promisc}")
        with NetNS(args.netns) as ns, ns.entered(), RtnlSocket() as csock:
            cont = get_link(csock, args.ifname)
            if cont is None or cont.kind != "veth":
                raise CNIError(f'container interface "{args.ifname}" not found or not a veth')
            if cont_entry.mac and cont.mac != cont_entry.mac:
                raise CNIError(f"interface {args.ifname} has MAC {cont.mac}, prevResult says {cont_entry.mac}")
            if not conf.disable_container_interface and not cont.flags & IFF_UP:
                raise CNIError(f"interface {args.ifname} is down")
            peer_index = cont.raw.get_attr("IFLA_LINK") if cont.raw is not None else 0
            _check_l3(csock, cont.index, prev, cont_index)
        peer = get_link(hsock, index=peer_index or 0) if peer_index else None
        if peer is None or peer.kind != "veth" or peer.master != br.index:
            raise CNIError(f"no host veth peer of {args.ifname} on bridge {conf.bridge}")


def _check_l3(sock, index: int, prev: Result, cont_index: int) -> None:  # type: ignore[no-untyped-def]
    from libcni.nl.link import list_addresses
    from libcni.nl.route import list_routes

    have = {a.cidr for a in list_addresses(sock, index=index)}
    for ip in prev.ips:
        if ip.interface is not None and ip.interface != cont_index:
            continue
        wanted = ipaddress.ip_interface(ip.address).with_prefixlen
        if wanted not in have:
            raise CNIError(f"Failed to match addr {ip.address} on interface {index}")
    routes = list_routes(sock)
    for route in prev.routes:
        dst = str(ipaddress.ip_network(route.dst, strict=False))
        if not any(
            str(ipaddress.ip_network(r.dst, strict=False)) == dst and (not route.gw or r.gw == route.gw) for r in routes
        ):
            raise CNIError(f"Failed to match route {route.dst} via {route.gw or '-'}")
