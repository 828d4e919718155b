"""loopback: bring up `lo` in the container's network namespace.

Role: main plugin, usually first in a conflist. It ignores CNI_IFNAME (the interface is always `lo`)
and reads `prevResult` only to pass it through unchanged. Unlike the Go plugin, the result is always
printed in the config's cniVersion, whatever version the prevResult came in.
Known limits: none beyond the reference's; there is nothing to GC and STATUS is always ready.
"""

from __future__ import annotations

from libcni import skel
from libcni.config import NetConf
from libcni.errors import CNIError
from libcni.netns import NetNS, NetNSNotFound
from libcni.types import Interface, IPConfig, Result

ABOUT = "pycni loopback plugin"


def _ips_of_lo(sock, lo_index: int) -> list[IPConfig]:  # type: ignore[no-untyped-def]
    from libcni.nl.link import list_addresses

    first: dict[int, IPConfig] = {}
    for addr in list_addresses(sock, index=lo_index):
        if not _is_loopback(addr.address):
            raise CNIError("loopback interface found with non-loopback address", addr.cidr)
        family = 6 if ":" in addr.address else 4
        first.setdefault(family, IPConfig(address=addr.cidr, interface=0))
    return [first[f] for f in (4, 6) if f in first]


def _is_loopback(ip: str) -> bool:
    import ipaddress

    return ipaddress.ip_address(ip).is_loopback


def cmd_add(args: skel.CmdArgs) -> Result:
    conf = NetConf.from_dict(args.config)
    from libcni.nl.link import get_link, set_link_up
    from libcni.nl.socket import RtnlSocket

    with NetNS(args.netns) as ns:
        with ns.entered(), RtnlSocket() as sock:
            lo = get_link(sock, "lo")
            if lo is None:
                raise CNIError("no loopback interface in the namespace", args.netns)
            set_link_up(sock, lo.index)
            ips = _ips_of_lo(sock, lo.index)
    if conf.prev_result is not None:
        return conf.prev_result
    return Result(
        cni_version=conf.cni_version,
        interfaces=[Interface(name="lo", mac="00:00:00:00:00:00", sandbox=args.netns)],
        ips=ips,
    )


def cmd_del(args: skel.CmdArgs) -> None:
    if not args.netns:
        return
    from libcni.nl.link import get_link, set_link_up
    from libcni.nl.socket import RtnlSocket

    try:
        ns = NetNS(args.netns)
    except NetNSNotFound:
        return  # the namespace is gone, and `lo` with it
    with ns, ns.entered(), RtnlSocket() as sock:
        lo = get_link(sock, "lo")
        if lo is not None:
            set_link_up(sock, lo.index, up=False)


def cmd_check(args: skel.CmdArgs) -> None:
    NetConf.from_dict(args.config)
    from libcni.nl.link import get_link
    from libcni.nl.socket import RtnlSocket

    with NetNS(args.netns) as ns, ns.entered(), RtnlSocket() as sock:
        lo = get_link(sock, "lo")
        if lo is None or not lo.is_up:
            raise CNIError("loopback interface is down")


def main() -> None:
    skel.plugin_main(add=cmd_add, delete=cmd_del, check=cmd_check, about=ABOUT)
