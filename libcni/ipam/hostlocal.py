"""host-local's verb handlers, shared by the `host-local` executable and bridge's in-process fast path.

Each handler takes the same CmdArgs the executable would get (env values and the calling plugin's
whole config) and neither prints, exits nor reads process-global state: skel does that for the
executable, and bridge calls these directly instead of exec'ing host-local.
One flock on the network directory covers the whole call (every range set of an ADD).
"""

from __future__ import annotations

from libcni import skel
from libcni.config import valid_attachments
from libcni.errors import CNIError
from libcni.ipam import allocator, store
from libcni.ipam.conf import load_conf, parse_resolv_conf
from libcni.types import DNS, Result, parse_prev_result

TYPE_CHECKING = False  # typing.TYPE_CHECKING without loading typing at run time (~2 ms per call)
if TYPE_CHECKING:
    pass


def cmd_add(args: skel.CmdArgs) -> Result:
    conf = load_conf(args.config, args.args)
    dns = parse_resolv_conf(conf.resolv_conf) if conf.resolv_conf else DNS()
    plan = allocator.plan_requests(conf.range_sets, conf.requested)
    with store.locked(conf.data_dir, conf.name, conf.lock_timeout) as session:
        assert session is not None
        ips = allocator.allocate(session, conf.range_sets, plan, args.container_id, args.ifname)
    return Result(cni_version=conf.cni_version, ips=ips, routes=list(conf.routes), dns=dns)


def cmd_del(args: skel.CmdArgs) -> None:
    # Ranges are not needed to release what an attachment holds: a DEL with a config whose ranges
    # changed or vanished still frees the addresses.
    conf = load_conf(args.config, args.args, need_ranges=False)
    with store.locked(conf.data_dir, conf.name, conf.lock_timeout, create=False) as session:
        if session is not None:
            allocator.release(session, args.container_id, args.ifname)


def cmd_check(args: skel.CmdArgs) -> None:
    """The addresses prevResult lists inside our ranges must be held by this attachment; without any,
    the attachment must hold at least one address (what the reference checks)."""
    conf = load_conf(args.config, args.args)
    prev = parse_prev_result(args.config.get("prevResult"), conf.cni_version)
    with store.locked(conf.data_dir, conf.name, conf.lock_timeout, create=False) as session:
        held = set() if session is None else set(store.holders(session.owners, args.container_id, args.ifname))
    ours = [ipc.ip for ipc in (prev.ips if prev else []) if _in_sets(conf.range_sets, ipc.ip)]
    if not ours:
        if not held:
            raise CNIError(f"host-local: Failed to find address added by container {args.container_id}")
        return
    missing = [ip for ip in ours if ip not in held]
    if missing:
        raise CNIError(
            f"host-local: address {', '.join(missing)} is not reserved by container {args.container_id} "
            f"interface {args.ifname}"
        )


def _in_sets(sets: tuple, ip: str) -> bool:
    import ipaddress

    addr = ipaddress.ip_address(ip)
    return any(rs.contains(addr) for rs in sets)


def cmd_gc(args: skel.CmdArgs) -> None:
    conf = load_conf(args.config, args.args, need_ranges=False)
    valid = valid_attachments(args.config)
    with store.locked(conf.data_dir, conf.name, conf.lock_timeout, create=False) as session:
        if session is not None:
            allocator.collect_garbage(session, valid)


def cmd_status(args: skel.CmdArgs) -> None:
    # STATUS carries no runtimeConfig: a network whose ranges all come from the ipRanges capability
    # has none to check here, and is ready.
    conf = load_conf(args.config, args.args, need_ranges=False)
    if not conf.range_sets:
        return
    with store.locked(conf.data_dir, conf.name, conf.lock_timeout, create=False) as session:
        if session is not None:
            allocator.check_available(session, conf.range_sets, conf.name)
