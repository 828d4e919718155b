"""portmap's configuration, read once and fully validated into a frozen `PortmapConf`.

Sources: the config keys, `runtimeConfig.portMappings` (capability `portMappings`) and `prevResult`.
Errors are code 7 and name the key and value. No netlink or netfilter module is imported here, so a
bad config answers fast.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from libcni.config import NetConf, get_bool, get_int, get_str, require_type
from libcni.errors import InvalidConfig
from libcni.netfilter import default_backend
from libcni.portmapper.model import PROTOCOLS, Forward, MasqOptions, PortMapping, mappings_for_family
from libcni.types import Result

BACKENDS = ("iptables", "nftables")


@dataclass(frozen=True)
class PortmapConf:
    """The portmap plugin's config, fully validated by load_conf before any rule is written."""

    net: NetConf
    backend: str
    masq: MasqOptions
    conditions: dict[int, tuple[str, ...]]
    mappings: tuple[PortMapping, ...]

    @property
    def name(self) -> str:
        return self.net.name

    @property
    def prev_result(self) -> Result | None:
        return self.net.prev_result

    def forwards(self, container_id: str, ifname: str) -> list[Forward]:
        """One Forward per family that has both a container IP and mappings."""
        out = []
        for family, ip in container_ips(self.prev_result, ifname).items():
            mappings = mappings_for_family(self.mappings, family)
            if mappings:
                iface = ipaddress.ip_interface(ip)
                out.append(
                    Forward(
                        self.name,
                        container_id,
                        family,
                        str(iface.ip),
                        str(iface.network),
                        mappings,
                        self.masq,
                        self.conditions[family],
                    )
                )
        return out


def container_ips(result: Result | None, ifname: str) -> dict[int, str]:
    """First v4 and first v6 (CIDR) on the sandbox interface CNI_IFNAME; IPs with no index count too."""
    found: dict[int, str] = {}
    if result is None:
        return found
    for ipc in result.ips:
        if ipc.interface is not None:
            if ipc.interface >= len(result.interfaces):
                continue
            iface = result.interfaces[ipc.interface]
            if iface.name != ifname or not iface.sandbox:
                continue
        found.setdefault(ipc.family, ipc.address)
    return found


def _port(entry: dict, key: str, index: int) -> int:
    value = require_type(entry.get(key), int, f"portMappings[{index}].{key}")
    if not 1 <= value <= 65535:
        raise InvalidConfig(f'invalid value for "portMappings[{index}].{key}": {value} is not a port (1..65535)')
    return value


def parse_mapping(entry: object, index: int) -> PortMapping:
    entry = require_type(entry, dict, f"portMappings[{index}]")
    proto = require_type(entry.get("protocol") or "tcp", str, f"portMappings[{index}].protocol").lower()
    if proto not in PROTOCOLS:
        raise InvalidConfig(
            f'invalid value for "portMappings[{index}].protocol": {proto!r} (want one of {", ".join(PROTOCOLS)})'
        )
    host_ip = require_type(entry.get("hostIP") or "", str, f"portMappings[{index}].hostIP")
    if host_ip:
        try:
            addr = ipaddress.ip_address(host_ip)
        except ValueError:
            raise InvalidConfig(
                f'invalid value for "portMappings[{index}].hostIP": {host_ip!r} is not an IP address'
            ) from None
        host_ip = "" if addr.is_unspecified else str(addr)
    return PortMapping(_port(entry, "hostPort", index), _port(entry, "containerPort", index), proto, host_ip)


def _conditions(conf: dict, key: str) -> tuple[tuple[str, ...], str]:
    """The tokens, and which backend they are written for ("" when absent), told by the first token."""
    raw = conf.get(key)
    if raw is None:
        return (), ""
    tokens = tuple(require_type(t, str, key) for t in require_type(raw, list, key))
    for token in tokens:
        # One condition must never break out of its rule: no new line, no nft statement separator.
        if any(c in token for c in "\n\r;#"):
            raise InvalidConfig(f'invalid value for "{key}": {token!r} contains a newline, ";" or "#"')
    if not tokens:
        return (), ""
    return tokens, "iptables" if tokens[0][:1] in ("-", "!") else "nftables"


def _backend(conf: dict, cond_kinds: set[str], iptables_only: bool) -> str:
    backend = get_str(conf, "backend")
    if backend and backend not in BACKENDS:
        raise InvalidConfig(f'unrecognized backend "{backend}" (want "iptables" or "nftables")')
    backend = backend or default_backend()
    if backend == "nftables" and (iptables_only or "iptables" in cond_kinds):
        raise InvalidConfig("nftables backend was requested but configuration contains iptables-specific options")
    if backend == "iptables" and "nftables" in cond_kinds:
        raise InvalidConfig("iptables backend was requested but configuration contains nftables-specific options")
    return backend


def load_conf(config: dict) -> PortmapConf:
    net = NetConf.from_dict(config)
    external = get_str(config, "externalSetMarkChain")
    has_bit = config.get("markMasqBit") is not None
    bit = get_int(config, "markMasqBit", 13)
    if not 0 <= bit <= 31:
        raise InvalidConfig(f'invalid value for "markMasqBit": {bit} (must be between 0 and 31)')
    if has_bit and external:
        raise InvalidConfig('cannot specify both "externalSetMarkChain" and "markMasqBit"')
    cond4, kind4 = _conditions(config, "conditionsV4")
    cond6, kind6 = _conditions(config, "conditionsV6")
    backend = _backend(config, {kind4, kind6} - {""}, iptables_only=bool(external) or has_bit)
    raw_mappings = require_type(net.runtime_config.get("portMappings") or [], list, "runtimeConfig.portMappings")
    return PortmapConf(
        net=net,
        backend=backend,
        masq=MasqOptions(get_bool(config, "snat", True), get_bool(config, "masqAll"), bit, external),
        conditions={4: cond4, 6: cond6},
        mappings=tuple(parse_mapping(e, i) for i, e in enumerate(raw_mappings)),
    )
