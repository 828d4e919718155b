"""portmap: publish container ports on the host (hostPort -> containerIP:containerPort).

Role: meta plugin, must be chained after a main plugin. From `prevResult` it reads the first IPv4 and
the first IPv6 address of the CNI_IFNAME interface in the sandbox (IPs with no interface index count
too), and prints `prevResult` back unchanged. Mappings come from `runtimeConfig.portMappings`.
Backends: iptables (the Go plugin's chains, one iptables-restore per family) or nftables (the Go
plugin's `cni_hostport` tables, one nft transaction); see README.md for layouts and security notes.
DEL finds this attachment's rules by network + container ID, with or without the mappings, including
rules the Go plugin made; it also flushes UDP conntrack entries of the removed ports.
Known limits: `::1` host ports cannot work (IPv6 has no route_localnet); the nftables GC only knows
attachments created by pycni (Go's rules carry no network name); port ranges are one mapping per port.
"""

from __future__ import annotations

from libcni import skel
from libcni.errors import CNIError, InvalidConfig
from libcni.types import Result

ABOUT = "pycni portmap plugin"


def _mapper(backend: str):  # type: ignore[no-untyped-def]
    if backend == "nftables":
        from libcni.portmapper.nftables import NftablesMapper

        return NftablesMapper()
    from libcni.portmapper.iptables import IptablesMapper

    return IptablesMapper()


def cmd_add(args: skel.CmdArgs) -> Result:
    from cni.portmap.config import load_conf
    from libcni.portmapper import conntrack
    from libcni.portmapper.model import Owner

    conf = load_conf(args.config)
    if conf.prev_result is None:
        raise InvalidConfig("must be called as chained plugin")
    if not conf.mappings:
        return conf.prev_result
    fwds = conf.forwards(args.container_id, args.ifname)
    if not fwds:
        return conf.prev_result
    mapper = _mapper(conf.backend)
    try:
        mapper.forward(fwds)
        if conf.masq.snat:
            _localhost_access(fwds)
    except Exception:
        _best_effort(lambda: mapper.unforward(Owner(conf.name, args.container_id, tuple(f.container_ip for f in fwds))))
        raise
    # After the rules are in place, so that new UDP flows take the new DNAT (plugins#123).
    conntrack.flush_udp({f.family: f.udp_ports() for f in fwds})
    return conf.prev_result


def _localhost_access(fwds: list) -> None:
    """127.0.0.1:hostPort needs route_localnet on the host interface towards the container (v4 only)."""
    from libcni import log, sysctl
    from libcni.portmapper.hostif import route_interface

    for fwd in fwds:
        if fwd.family != 4:
            continue
        try:
            name = route_interface(fwd.container_ip)
        except (OSError, LookupError) as err:
            # As the reference: no route from the host means no interface to open, not a failed ADD.
            log.warning(f"no host route to {fwd.container_ip} ({err}): 127.0.0.1:hostPort will not reach it")
            continue
        try:
            sysctl.ensure(f"net/ipv4/conf/{name}/route_localnet", "1")
        except OSError as err:
            raise CNIError(f"cannot enable route_localnet on {name}", str(err)) from err


def _best_effort(step) -> None:  # type: ignore[no-untyped-def]
    from libcni import log

    try:
        step()
    except Exception as err:  # noqa: BLE001 - rollback must not hide the original failure
        log.warning(f"portmap rollback failed: {err}")


def cmd_del(args: skel.CmdArgs) -> None:
    from cni.portmap.config import container_ips, load_conf
    from libcni.portmapper import conntrack
    from libcni.portmapper.model import Owner

    conf = load_conf(args.config)
    ips = tuple(ip.split("/")[0] for ip in container_ips(conf.prev_result, args.ifname).values())
    try:
        udp = _mapper(conf.backend).unforward(Owner(conf.name, args.container_id, ips))
    except FileNotFoundError as err:  # the backend's tool is not installed: it cannot hold our rules
        from libcni import log

        log.warning(f"portmap DEL: {err}; nothing to remove")
        udp = {}
    for m in conf.mappings:  # the runtime may still hold flows for ports whose rules are already gone
        if m.protocol == "udp":
            for family in (4, 6) if not m.family else (m.family,):
                udp.setdefault(family, set()).add(m.host_port)
    conntrack.flush_udp(udp)


def cmd_check(args: skel.CmdArgs) -> None:
    from cni.portmap.config import load_conf

    conf = load_conf(args.config)
    if conf.prev_result is None:
        raise InvalidConfig("must be called as chained plugin")
    fwds = conf.forwards(args.container_id, args.ifname)
    if fwds:
        _mapper(conf.backend).check(fwds)


def cmd_gc(args: skel.CmdArgs) -> None:
    from cni.portmap.config import load_conf
    from libcni.config import valid_attachments
    from libcni.portmapper import conntrack

    conf = load_conf(args.config)
    valid = {container_id for container_id, _ifname in valid_attachments(args.config)}
    conntrack.flush_udp(_mapper(conf.backend).gc(conf.name, valid))


def main() -> None:
    skel.plugin_main(add=cmd_add, delete=cmd_del, check=cmd_check, gc=cmd_gc, about=ABOUT)
