"""bridge's config: every key of the reference, parsed and validated once into a frozen dataclass.

Nothing here imports pyroute2, so config errors (and VERSION) answer fast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from libcni.args import parse_cni_args
from libcni.config import NetConf, get_bool, get_int, get_str, require_type
from libcni.errors import InvalidConfig
from libcni.ipmasq import validate_backend

_MAC_RE = re.compile(r"^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$")


@dataclass(frozen=True)
class BridgeConf:
    """The bridge plugin's config, fully validated by load_conf before anything is touched."""

    net: NetConf
    bridge: str
    is_gateway: bool
    is_default_gateway: bool
    force_address: bool
    ip_masq: bool
    ip_masq_backend: str  # "" = the reference's default choice, made when rules are written
    mtu: int
    hairpin: bool
    promisc: bool
    vlan: int
    vlan_trunk: tuple[int, ...]
    preserve_default_vlan: bool
    macspoofchk: bool
    enable_dad: bool
    disable_container_interface: bool
    port_isolation: bool
    mac: str  # requested container MAC, "" for a random one

    @property
    def is_layer3(self) -> bool:
        return bool(self.net.ipam_type)

    @property
    def vlan_filtering(self) -> bool:
        return bool(self.vlan or self.vlan_trunk)


def _trunk_id(item: dict, key: str) -> int | None:
    value = item.get(key)
    if value is None:
        return None
    value = require_type(value, int, f"vlanTrunk {key}")
    if not 0 < value <= 4094:
        raise InvalidConfig(f"incorrect trunk {key} parameter", f"{value} is not in 1..4094")
    return value


def parse_trunk(raw: object) -> tuple[int, ...]:
    """vlanTrunk as a sorted, de-duplicated tuple of VIDs."""
    if raw is None:
        return ()
    vids: set[int] = set()
    for item in require_type(raw, list, "vlanTrunk"):
        item = require_type(item, dict, "vlanTrunk entry")
        lo, hi, single = _trunk_id(item, "minID"), _trunk_id(item, "maxID"), _trunk_id(item, "id")
        if (lo is None) != (hi is None):
            raise InvalidConfig("minID and maxID should be configured simultaneously", str(item))
        if lo is not None and hi is not None:
            if hi < lo:
                raise InvalidConfig("minID is greater than maxID in trunk parameter", str(item))
            vids.update(range(lo, hi + 1))
        if single is not None:
            vids.add(single)
        if lo is None and single is None:
            raise InvalidConfig("vlanTrunk entry needs id or minID/maxID", str(item))
    return tuple(sorted(vids))


def _mac(value: str, where: str) -> str:
    if not _MAC_RE.match(value):
        raise InvalidConfig(f'invalid MAC address "{value}" in {where}')
    return value.lower().replace("-", ":")


def requested_mac(net: NetConf, raw_args: str) -> str:
    """The container MAC, lowest to highest precedence: CNI_ARGS MAC, args.cni.mac, runtimeConfig.mac."""
    mac = ""
    env_mac = parse_cni_args(raw_args, known=("MAC",)).get("MAC", "")
    if env_mac:
        mac = _mac(env_mac, "CNI_ARGS")
    if net.args_cni.get("mac"):
        mac = _mac(require_type(net.args_cni["mac"], str, "args.cni.mac"), "args.cni.mac")
    if net.runtime_config.get("mac"):
        mac = _mac(require_type(net.runtime_config["mac"], str, "runtimeConfig.mac"), "runtimeConfig.mac")
    return mac


def load_conf(config: dict, raw_args: str = "") -> BridgeConf:
    net = NetConf.from_dict(config)
    vlan = get_int(config, "vlan")
    if not 0 <= vlan <= 4094:
        raise InvalidConfig(f"invalid VLAN ID {vlan} (must be between 0 and 4094)")
    mtu = get_int(config, "mtu")
    if mtu < 0:
        raise InvalidConfig(f"invalid MTU {mtu}")
    is_default_gw = get_bool(config, "isDefaultGateway")
    conf = BridgeConf(
        net=net,
        bridge=get_str(config, "bridge") or "cni0",
        is_gateway=get_bool(config, "isGateway") or is_default_gw,
        is_default_gateway=is_default_gw,
        force_address=get_bool(config, "forceAddress"),
        ip_masq=get_bool(config, "ipMasq"),
        ip_masq_backend=validate_backend(get_str(config, "ipMasqBackend")),
        mtu=mtu,
        hairpin=get_bool(config, "hairpinMode"),
        promisc=get_bool(config, "promiscMode"),
        vlan=vlan,
        vlan_trunk=parse_trunk(config.get("vlanTrunk")),
        preserve_default_vlan=get_bool(config, "preserveDefaultVlan"),
        macspoofchk=get_bool(config, "macspoofchk"),
        enable_dad=get_bool(config, "enabledad"),
        disable_container_interface=get_bool(config, "disableContainerInterface"),
        port_isolation=get_bool(config, "portIsolation"),
        mac=requested_mac(net, raw_args),
    )
    if len(conf.bridge.encode()) > 15 or any(c in "/:" or c.isspace() for c in conf.bridge):
        raise InvalidConfig(f'invalid bridge name "{conf.bridge}"')
    if conf.hairpin and conf.promisc:
        raise InvalidConfig("cannot set hairpin mode and promiscuous mode at the same time")
    if conf.disable_container_interface and conf.is_layer3:
        raise InvalidConfig("cannot use IPAM when DisableContainerInterface flag is set")
    return conf
