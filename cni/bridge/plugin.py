"""bridge: attach a container to a Linux bridge on the host through a veth pair.

Role: main plugin. It ignores any `prevResult` on ADD; on DEL the ipMasq teardown takes the address
families to look at from `prevResult` (both when there is none), and on CHECK it compares the kernel
with `prevResult` (required). IPAM (`ipam.type`) is delegated for
every verb, in-process when it is pycni's own host-local (cni/bridge/ipam.py); an empty type is L2 mode.

Beyond the reference: a failed ADD removes the veth and every rule it made, not only the IPAM lease;
DEL removes the ipMasq rules even without a netns; GC is forwarded to IPAM and prunes ipMasq rules;
CHECK in L2 mode does not call an empty IPAM; the bridge port is awaited on netlink events.
Known limits: VLAN options need a kernel with bridge VLAN filtering; the bridge itself, its gateway
address and the forwarding sysctls are never removed (as the reference).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from cni.bridge.config import BridgeConf, load_conf
from libcni import log, skel
from libcni.config import valid_attachments
from libcni.errors import CNIError
from libcni.netns import NetNS, NetNSNotFound
from libcni.types import Interface, Result, Route

ABOUT = "pycni bridge plugin"
PORT_WAIT = 5.0  # seconds for the host veth to come up (the reference gives up after 2.55 s)


@contextmanager
def step(what: str) -> Iterator[None]:
    """Turn a kernel or tool failure inside one ADD step into a CNI error saying which step failed."""
    try:
        yield
    except CNIError:
        raise
    except OSError as err:
        raise CNIError(f"failed to {what}", str(err)) from None


def _host_ns_fd() -> int:
    return os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)


def _create_veth(conf: BridgeConf, ns: NetNS, ifname: str):  # type: ignore[no-untyped-def]
    from libcni.nl.socket import RtnlSocket
    from libcni.nl.veth import ContainerIfaceExists, create_veth

    host_fd = _host_ns_fd()
    try:
        with ns.entered(), RtnlSocket() as csock:
            return create_veth(csock, ifname, host_fd, conf.mtu, conf.mac)
    except ContainerIfaceExists:
        raise CNIError(f'container veth name "{ifname}" peer provided (or exists) already exists') from None
    finally:
        os.close(host_fd)


def _delete_container_link(ns: NetNS, ifname: str) -> None:
    """Delete the container end over netlink (which takes the host end with it); gone already is fine."""
    from libcni.nl.iface import delete_link
    from libcni.nl.socket import RtnlSocket

    with ns.entered(), RtnlSocket() as sock:
        delete_link(sock, name=ifname)


class _Unplug:
    """Deletes the container end of the veth (the host end goes with it) while DEL does the rest.

    `ip link del`, started from inside the container netns, runs beside us: unregistering a device
    waits ~20 ms in the kernel (an RCU grace period), which then overlaps the IPAM release and the
    ipMasq teardown, and DEL loads no netlink codecs at all (~8 ms of imports). Where
    `ip` is not installed the link is deleted over netlink before returning, as before.
    """

    def __init__(self, ns: NetNS, ifname: str) -> None:
        from libcni import proc

        self.ifname = ifname
        self.child: proc.Running | None = None
        with ns.entered():
            try:
                self.child = proc.start(["ip", "link", "del", "dev", ifname])
            except OSError:
                _delete_container_link(ns, ifname)

    def wait(self) -> str:
        """'' once the link is gone (or was already); else why it could not be deleted."""
        if self.child is None:
            return ""
        done = self.child.wait()
        why = done.stderr.decode(errors="replace").strip()
        if done.returncode == 0 or "Cannot find device" in why:
            return ""
        return why or f"ip link del exited with {done.returncode}"


def calc_gateways(conf: BridgeConf, result: Result) -> dict[int, list[str]]:
    """Fill in gateways and the default routes as the reference does; return gateway CIDRs per family."""
    import ipaddress

    gws: dict[int, list[str]] = {4: [], 6: []}
    has_default = {4: False, 6: False}
    for route in result.routes:
        if route.gw and ipaddress.ip_network(route.dst, strict=False).prefixlen == 0:
            has_default[route.family] = True
    for ip in result.ips:
        ip.interface = 2
        iface = ipaddress.ip_interface(ip.address)
        if not ip.gateway and conf.is_gateway:
            ip.gateway = str(iface.network.network_address + 1)
        if conf.is_default_gateway and not has_default[ip.family]:
            result.routes.append(Route(dst="0.0.0.0/0" if ip.family == 4 else "::/0", gw=ip.gateway))
            has_default[ip.family] = True
        if conf.is_gateway and ip.gateway:
            gws[ip.family].append(f"{ip.gateway}/{iface.network.prefixlen}")
    return gws


def _setup_gateways(hsock, conf: BridgeConf, br, gws: dict[int, list[str]], result: Result) -> str:  # type: ignore[no-untyped-def]
    from cni.bridge import host

    target = br
    if conf.vlan:
        target = _vlan_gateway(hsock, conf, br)
        result.interfaces.append(Interface(name=target.name, mac=target.mac))
    for cidr in gws[4] + gws[6]:
        with step(f"set gateway address {cidr} on {target.name}"):
            host.ensure_gateway_addr(hsock, target, cidr, conf.force_address)
    with step("pin the bridge MAC"):
        pinned_mac = host.pin_mac(hsock, br.index)
    with step("enable IP forwarding"):
        host.enable_forwarding({f for f, v in gws.items() if v})
    return pinned_mac


def _vlan_gateway(hsock, conf: BridgeConf, br):  # type: ignore[no-untyped-def]
    """The `<bridge>.<vlan>` veth in the host that carries the gateway address of a VLAN network."""
    from cni.bridge import host
    from libcni.nl.link import get_link, set_link_up
    from libcni.nl.veth import create_veth

    name = f"{conf.bridge}.{conf.vlan}"
    link = get_link(hsock, name)
    if link is None:
        host_fd = _host_ns_fd()
        try:
            with step(f"create VLAN gateway interface {name}"):
                link, peer = create_veth(hsock, name, host_fd, br.mtu)
                host.attach_port(hsock, conf, peer, br, conf.vlan)
                set_link_up(hsock, link.index)
        finally:
            os.close(host_fd)
    return link


def cmd_add(args: skel.CmdArgs) -> Result:
    conf = load_conf(args.config, args.args)
    from cni.bridge import host
    from libcni.nl.events import wait_oper_up
    from libcni.nl.link import get_link, set_link_up
    from libcni.nl.socket import RtnlSocket

    result = Result(cni_version=conf.net.cni_version)
    with NetNS(args.netns) as ns, RtnlSocket() as hsock, ExitStack() as undo:
        with step(f'create bridge "{conf.bridge}"'):
            br = host.ensure_bridge(hsock, conf)
        with step(f"create veth pair for {args.ifname}"):
            cont, host_name = _create_veth(conf, ns, args.ifname)
        undo.callback(_quietly, _delete_container_link, ns, args.ifname)
        with step(f'attach {host_name} to bridge "{conf.bridge}"'):
            # The container end's IFLA_LINK is the host end's index: no lookup by name needed.
            port_index = host.attach_port(hsock, conf, host_name, br, conf.vlan, cont.raw.get_attr("IFLA_LINK") or 0)
        result.interfaces = [
            Interface(br.name, br.mac),
            Interface(host_name, ""),
            Interface(args.ifname, cont.mac, sandbox=args.netns),
        ]
        if conf.macspoofchk:
            from cni.bridge import spoofcheck

            with step("set up the MAC spoof check"):
                spoofcheck.setup(host_name, cont.mac, args.container_id, args.ifname)
            undo.callback(_quietly, spoofcheck.teardown, args.container_id, args.ifname)
        pinned_mac = ""
        if conf.is_layer3:
            pinned_mac = _add_layer3(args, conf, ns, hsock, br, cont, result, undo)
        elif not conf.disable_container_interface:
            with step(f"set {args.ifname} up"), ns.entered(), RtnlSocket() as csock:
                set_link_up(csock, cont.index)
        port = None
        if not conf.disable_container_interface:
            state, port = wait_oper_up(hsock, port_index, PORT_WAIT)
            if state != "UP":
                raise CNIError(f"bridge port in error state: {state}", f"{host_name} did not come up")
        # The bridge MAC may change when its first port joins or it gets an address, unless it was just
        # pinned; a veth's own MAC never changes, so the read made for the oper-state wait is current.
        result.interfaces[0].mac = pinned_mac or getattr(get_link(hsock, index=br.index), "mac", br.mac)
        if port is None:
            port = get_link(hsock, index=port_index)
        result.interfaces[1].mac = getattr(port, "mac", "")
        if not conf.net.dns.is_empty():
            result.dns = conf.net.dns
        undo.pop_all()
    return result


def _add_layer3(args, conf: BridgeConf, ns: NetNS, hsock, br, cont, result: Result, undo: ExitStack) -> str:  # type: ignore[no-untyped-def]
    """IPAM, the container's addresses and routes, gateways, ipMasq; return the bridge MAC if it was pinned."""
    from cni.bridge import container, ipam
    from libcni import ipmasq
    from libcni.nl.socket import RtnlSocket

    ipam_result = ipam.run("ADD", args, conf.net.ipam_type)
    undo.callback(_quietly, ipam.run, "DEL", args, conf.net.ipam_type)
    assert ipam_result is not None
    if not ipam_result.ips:
        raise CNIError("IPAM plugin returned missing IP config")
    result.ips, result.routes, result.dns = ipam_result.ips, ipam_result.routes, ipam_result.dns
    gws = calc_gateways(conf, result)
    with step(f"configure {args.ifname} in {args.netns}"), ns.entered(), RtnlSocket() as csock:
        container.dad_sysctls(args.ifname, conf.enable_dad)
        container.configure(csock, cont, result.ips, result.routes, conf.enable_dad)
    pinned_mac = _setup_gateways(hsock, conf, br, gws, result) if conf.is_gateway else ""
    if conf.ip_masq:
        ips = [ip.address for ip in result.ips]
        undo.callback(_quietly, ipmasq.teardown, ips, conf.net.name, args.ifname, args.container_id)
        with step("set up ipMasq"):
            ipmasq.setup(conf.ip_masq_backend, ips, conf.net.name, args.ifname, args.container_id)
    return pinned_mac


def _quietly(fn, *a) -> None:  # type: ignore[no-untyped-def]
    """Rollback steps log their failures instead of hiding the error that caused the rollback."""
    try:
        fn(*a)
    except Exception as err:  # noqa: BLE001
        log.error(f"rollback: {getattr(fn, '__name__', fn)} failed: {err}")


def cmd_del(args: skel.CmdArgs) -> None:
    conf = load_conf(args.config, args.args)
    errors: list[str] = []
    unplug = None
    if args.netns:
        try:
            with NetNS(args.netns) as ns:
                unplug = _Unplug(ns, args.ifname)
        except NetNSNotFound:
            pass  # the namespace is gone and the veth with it
        except (CNIError, OSError) as err:
            errors.append(f"failed to delete {args.ifname}: {err}")
    try:
        _del_steps(args, conf, errors)
    finally:
        failed = unplug.wait() if unplug is not None else ""
    if failed:
        errors.insert(0, f"failed to delete {args.ifname}: {failed}")
    if errors:
        raise CNIError("bridge DEL did not finish", "; ".join(errors))


def _del_steps(args: skel.CmdArgs, conf: BridgeConf, errors: list[str]) -> None:
    """IPAM release, MAC spoof check and ipMasq removal; each failure is recorded and the rest still run.

    The ipMasq teardown finds its rules by container, not by address: the addresses (from prevResult)
    only narrow the iptables families it looks at, and without them it looks at both. Its execs run
    while `ip link del` waits in the kernel, so DEL reads nothing from the container's interface.
    """
    prev = conf.net.prev_result
    ips = [ip.address for ip in prev.ips] if prev is not None else []
    steps = []
    if conf.is_layer3:
        from cni.bridge import ipam

        steps.append(("release IPAM", lambda: ipam.run("DEL", args, conf.net.ipam_type)))
    if conf.macspoofchk:
        from cni.bridge import spoofcheck

        steps.append(("remove the MAC spoof check", lambda: spoofcheck.teardown(args.container_id, args.ifname)))
    if conf.ip_masq:
        from libcni import ipmasq

        steps.append(
            ("remove ipMasq", lambda: ipmasq.teardown(ips, conf.net.name, args.ifname, args.container_id))
        )
    for what, fn in steps:
        try:
            fn()
        except (CNIError, OSError) as err:
            errors.append(f"{what}: {err}")


def cmd_check(args: skel.CmdArgs) -> None:
    conf = load_conf(args.config, args.args)
    from cni.bridge import check

    check.run(args, conf)


def cmd_gc(args: skel.CmdArgs) -> None:
    conf = load_conf(args.config, args.args)
    valid = valid_attachments(args.config)  # checked before anything is collected
    if conf.is_layer3:
        from cni.bridge import ipam

        ipam.run("GC", args, conf.net.ipam_type)
    if conf.ip_masq:
        from libcni import ipmasq

        ipmasq.gc(conf.net.name, sorted(valid))


def cmd_status(args: skel.CmdArgs) -> None:
    conf = load_conf(args.config, args.args)
    if conf.is_layer3:
        from cni.bridge import ipam

        ipam.run("STATUS", args, conf.net.ipam_type)


def main() -> None:
    skel.plugin_main(add=cmd_add, delete=cmd_del, check=cmd_check, gc=cmd_gc, status=cmd_status, about=ABOUT)
