"""CNI results for every spec version, and conversion between them.

One internal model holds the richest shape (1.1.0); `Result.from_json` reads any version into it and
`Result.to_json` writes any version out of it. Reading version A and writing version B gives exactly
the conversion table of the Go library (cni-spec.md section 3.2): 1.1 interface extras are lost below
1.0, route extras survive down to 0.3, 0.1/0.2 keep one IP per family and the routes of kept families.
Key order and omitted-when-empty rules follow current Go libcni's JSON encoding (which drops an empty
`dns` from 1.x results; Debian's older 1.1.1 plugins still print `"dns": {}`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from libcni import version as ver
from libcni.errors import DecodingFailure, InternalError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without loading typing at run time (~2 ms per call)
if TYPE_CHECKING:
    from typing import Any


def _cidr(text: Any, what: str) -> str:
    """Canonical CIDR text that keeps host bits ('10.1.0.5/16'), as Go's types.IPNet does."""
    try:
        return ipaddress.ip_interface(str(text)).with_prefixlen
    except ValueError:
        raise DecodingFailure(f'invalid CIDR address in {what}: "{text}"') from None


def _ip(text: Any, what: str) -> str:
    if text in (None, ""):
        return ""
    try:
        return str(ipaddress.ip_address(str(text)))
    except ValueError:
        raise DecodingFailure(f'invalid IP address in {what}: "{text}"') from None


def _uint(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DecodingFailure(f"{what} must be an unsigned integer, got {value!r}")
    return value


def _obj(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise DecodingFailure(f"{what} must be a JSON object")
    return value


def _list(value: Any, what: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise DecodingFailure(f"{what} must be a JSON list")
    return value


@dataclass
class Interface:
    """One interface of a result (1.1.0 shape; older versions drop fields on output)."""

    name: str
    mac: str = ""
    sandbox: str = ""
    mtu: int = 0
    socket_path: str = ""
    pci_id: str = ""

    @classmethod
    def from_json(cls, data: Any) -> Interface:
        data = _obj(data, "interface")
        return cls(
            name=str(data.get("name", "")),
            mac=str(data.get("mac") or ""),
            sandbox=str(data.get("sandbox") or ""),
            mtu=_uint(data.get("mtu") or 0, "interface mtu"),
            socket_path=str(data.get("socketPath") or ""),
            pci_id=str(data.get("pciID") or ""),
        )

    def to_json(self, group: tuple[str, ...]) -> dict:
        out: dict = {"name": self.name}
        if self.mac:
            out["mac"] = self.mac
        if group == ver.G100 and self.mtu:
            out["mtu"] = self.mtu
        if self.sandbox:
            out["sandbox"] = self.sandbox
        if group == ver.G100:
            if self.socket_path:
                out["socketPath"] = self.socket_path
            if self.pci_id:
                out["pciID"] = self.pci_id
        return out


@dataclass
class IPConfig:
    """One address of a result, with the index of its interface when known."""

    address: str  # CIDR with host bits, e.g. "10.1.0.5/16"
    gateway: str = ""
    interface: int | None = None

    @property
    def family(self) -> int:
        return 6 if ":" in self.address else 4

    @property
    def ip(self) -> str:
        return self.address.split("/", 1)[0]

    @classmethod
    def from_json(cls, data: Any) -> IPConfig:
        data = _obj(data, "ips entry")
        index = data.get("interface")
        return cls(
            address=_cidr(data.get("address"), "ips"),
            gateway=_ip(data.get("gateway"), "ips gateway"),
            interface=None if index is None else _uint(index, "ips interface index"),
        )

    def to_json(self, group: tuple[str, ...]) -> dict:
        out: dict = {}
        if group == ver.G040:
            out["version"] = str(self.family)
        if self.interface is not None:
            out["interface"] = self.interface
        out["address"] = self.address
        if self.gateway:
            out["gateway"] = self.gateway
        return out


@dataclass
class Route:
    """One route of a result; mtu/advmss/priority/table/scope survive down to 0.3.0."""

    dst: str
    gw: str = ""
    mtu: int = 0
    advmss: int = 0
    priority: int = 0
    table: int | None = None
    scope: int | None = None

    @property
    def family(self) -> int:
        return 6 if ":" in self.dst else 4

    @classmethod
    def from_json(cls, data: Any) -> Route:
        data = _obj(data, "route")
        table, scope = data.get("table"), data.get("scope")
        return cls(
            dst=_cidr(data.get("dst"), "route dst"),
            gw=_ip(data.get("gw"), "route gw"),
            mtu=_uint(data.get("mtu") or 0, "route mtu"),
            advmss=_uint(data.get("advmss") or 0, "route advmss"),
            priority=_uint(data.get("priority") or 0, "route priority"),
            table=None if table is None else _uint(table, "route table"),
            scope=None if scope is None else _uint(scope, "route scope"),
        )

    def to_json(self, full: bool = True) -> dict:
        out: dict = {"dst": self.dst}
        if self.gw:
            out["gw"] = self.gw
        if not full:
            return out
        for key in ("mtu", "advmss", "priority"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.table is not None:
            out["table"] = self.table
        if self.scope is not None:
            out["scope"] = self.scope
        return out


@dataclass
class DNS:
    """DNS settings of a result or config."""

    nameservers: list[str] = field(default_factory=list)
    domain: str = ""
    search: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Any) -> DNS:
        if data is None:
            return cls()
        data = _obj(data, "dns")
        return cls(
            nameservers=[str(x) for x in _list(data.get("nameservers"), "dns nameservers")],
            domain=str(data.get("domain") or ""),
            search=[str(x) for x in _list(data.get("search"), "dns search")],
            options=[str(x) for x in _list(data.get("options"), "dns options")],
        )

    def is_empty(self) -> bool:
        return not (self.nameservers or self.domain or self.search or self.options)

    def to_json(self) -> dict:
        out: dict = {}
        if self.nameservers:
            out["nameservers"] = list(self.nameservers)
        if self.domain:
            out["domain"] = self.domain
        if self.search:
            out["search"] = list(self.search)
        if self.options:
            out["options"] = list(self.options)
        return out


@dataclass
class Result:
    """A CNI result held in the 1.1.0 shape, readable from and writable to every version."""

    cni_version: str = ver.CURRENT
    interfaces: list[Interface] = field(default_factory=list)
    ips: list[IPConfig] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    dns: DNS = field(default_factory=DNS)

    @classmethod
    def from_json(cls, data: Any, default_version: str = "0.1.0") -> Result:
        """Read a result of any supported version; a missing cniVersion means `default_version`."""
        data = _obj(data, "result")
        version = data.get("cniVersion") or default_version
        group = ver.group_of(version)
        if group is None:
            raise DecodingFailure(f'unsupported CNI result version "{version}"')
        if group == ver.G020:
            return cls._from_020(data, version)
        return cls(
            cni_version=version,
            interfaces=[Interface.from_json(x) for x in _list(data.get("interfaces"), "interfaces")],
            ips=[IPConfig.from_json(x) for x in _list(data.get("ips"), "ips")],
            routes=[Route.from_json(x) for x in _list(data.get("routes"), "routes")],
            dns=DNS.from_json(data.get("dns")),
        )

    @classmethod
    def _from_020(cls, data: dict, version: str) -> Result:
        result = cls(cni_version=version, dns=DNS.from_json(data.get("dns")))
        for key in ("ip4", "ip6"):
            block = data.get(key)
            if block is None:
                continue
            block = _obj(block, key)
            result.ips.append(IPConfig(address=_cidr(block.get("ip"), key), gateway=_ip(block.get("gateway"), key)))
            for route in _list(block.get("routes"), f"{key} routes"):
                parsed = Route.from_json(route)
                result.routes.append(Route(dst=parsed.dst, gw=parsed.gw))
        return result

    def to_json(self, version: str | None = None) -> dict:
        """The result as `version` (default: its own) would print it; raises if it cannot be expressed."""
        version = version or self.cni_version
        group = ver.group_of(version)
        if group is None:
            raise InternalError(f"no converter for CNI result version {self.cni_version} to {version}")
        if group == ver.G020:
            return self._to_020(version)
        out: dict = {"cniVersion": version}
        if self.interfaces:
            out["interfaces"] = [i.to_json(group) for i in self.interfaces]
        if self.ips:
            out["ips"] = [i.to_json(group) for i in self.ips]
        if self.routes:
            out["routes"] = [r.to_json() for r in self.routes]
        if group == ver.G040 or not self.dns.is_empty():
            out["dns"] = self.dns.to_json()
        return out

    def _to_020(self, version: str) -> dict:
        first: dict[int, IPConfig] = {}
        for ip in self.ips:
            first.setdefault(ip.family, ip)
        if not first:
            raise InternalError("cannot convert: no valid IP addresses")
        out: dict = {"cniVersion": version}
        for family, key in ((4, "ip4"), (6, "ip6")):
            kept = first.get(family)
            if kept is None:
                continue
            block: dict = {"ip": kept.address}
            if kept.gateway:
                block["gateway"] = kept.gateway
            routes = [r.to_json(full=False) for r in self.routes if r.family == family]
            if routes:
                block["routes"] = routes
            out[key] = block
        out["dns"] = self.dns.to_json()
        return out

    def converted(self, version: str) -> Result:
        """A copy as `version` would hold it (what survives a round trip through that version)."""
        return Result.from_json(self.to_json(version), version)


def parse_prev_result(raw: Any, config_version: str) -> Result | None:
    """`prevResult` read the way Go's version.ParsePrevResult does: in the config's version group."""
    if raw is None:
        return None
    raw = _obj(raw, "prevResult")
    prev_version = raw.get("cniVersion") or config_version
    if ver.group_of(prev_version) != ver.group_of(config_version):
        raise DecodingFailure(
            "could not parse prevResult",
            f'prevResult version "{prev_version}" does not match config version "{config_version}"',
        )
    result = Result.from_json(raw, config_version)
    result.cni_version = config_version
    return result
