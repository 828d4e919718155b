"""Address ranges and range sets of host-local, with the reference's defaults and checks.

A range is one subnet with an inclusive [start, end] window and a gateway that is never handed out.
A range set is a pool of disjoint ranges of one family; each set yields one address per ADD.
Addresses are kept as ints so that walking a /16 stays cheap; text only at the edges.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass

from libcni.errors import InvalidConfig

TYPE_CHECKING = False  # typing.TYPE_CHECKING without loading typing at run time (~2 ms per call)
if TYPE_CHECKING:
    from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_ip(text: Any, what: str) -> Address:
    """An IP address; a '/prefix' suffix is accepted and ignored (as the `ips` convention says)."""
    if not isinstance(text, str) or not text:
        raise InvalidConfig(f"invalid IP {text!r} in {what}")
    try:
        return ipaddress.ip_address(text.split("/", 1)[0])
    except ValueError:
        raise InvalidConfig(f'invalid IP "{text}" in {what}') from None


def ip_text(family: int, value: int) -> str:
    """The canonical text of an address (same as Go's net.IP.String for v4 and v6)."""
    if family == 4:  # the hot path of a long round-robin walk: skip ipaddress objects
        return f"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"
    return str(ipaddress.IPv6Address(value))


@dataclass(frozen=True)
class Range:
    """One allocatable range of a subnet, as integer addresses (start and end inclusive)."""

    subnet: Network
    start: int  # first allocatable address, inclusive
    end: int  # last allocatable address, inclusive
    gateway: int | None

    @property
    def family(self) -> int:
        return self.subnet.version

    def contains(self, value: int) -> bool:
        return self.start <= value <= self.end

    def size(self) -> int:
        """How many addresses this range can hand out (the gateway is never one of them)."""
        gw = 1 if self.gateway is not None and self.contains(self.gateway) else 0
        return self.end - self.start + 1 - gw

    def gateway_text(self) -> str:
        return "" if self.gateway is None else ip_text(self.family, self.gateway)

    def describe(self) -> str:
        return f"{ip_text(self.family, self.start)}-{ip_text(self.family, self.end)}"

    def overlaps(self, other: Range) -> bool:
        """Windows overlap (as the reference: two windows of one subnet may coexist when disjoint)."""
        return self.family == other.family and self.start <= other.end and other.start <= self.end

    def cidr(self, value: int) -> str:
        return f"{ip_text(self.family, value)}/{self.subnet.prefixlen}"


def _optional_ip(conf: dict, key: str, where: str) -> Address | None:
    value = conf.get(key)
    if value in (None, ""):
        return None
    return parse_ip(value, f"{where} {key}")


def parse_range(conf: Any, where: str) -> Range:
    """One range object, canonicalised: defaults filled in and every bound checked against the subnet."""
    if not isinstance(conf, dict):
        raise InvalidConfig(f"{where}: a range must be an object with a subnet, got {conf!r}")
    subnet_text = conf.get("subnet")
    if not isinstance(subnet_text, str) or not subnet_text:
        raise InvalidConfig(f"{where}: missing subnet")
    try:
        iface = ipaddress.ip_interface(subnet_text)
    except ValueError:
        raise InvalidConfig(f'{where}: invalid subnet "{subnet_text}"') from None
    subnet = iface.network
    if iface.ip != subnet.network_address:
        raise InvalidConfig(
            f"{where}: network {subnet_text} has host bits set; "
            f"for a subnet mask of length {subnet.prefixlen} the network address is {subnet.network_address}"
        )
    if subnet.prefixlen > subnet.max_prefixlen - 2:
        raise InvalidConfig(f"{where}: network {subnet} is too small to allocate from")
    net_int = int(subnet.network_address)
    last = int(subnet.broadcast_address)
    # Defaults as the reference: start = network+1, end = broadcast-1 (v4) or the last address (v6).
    bounds = {"rangeStart": net_int + 1, "rangeEnd": last - 1 if subnet.version == 4 else last, "gateway": net_int + 1}
    for key in bounds:
        addr = _optional_ip(conf, key, where)
        if addr is None:
            continue
        if addr.version != subnet.version:
            raise InvalidConfig(f"{where}: {key} {addr} is not in the address family of {subnet}")
        if key != "gateway" and addr not in subnet:
            raise InvalidConfig(f"{where}: {key} {addr} not in network {subnet}")
        bounds[key] = int(addr)
    if bounds["rangeStart"] > bounds["rangeEnd"]:
        raise InvalidConfig(f"{where}: rangeStart {ip_text(subnet.version, bounds['rangeStart'])} is after rangeEnd")
    # The reference accepts an explicit rangeStart at the network address (and a v4 rangeEnd at the
    # broadcast address) and then hands those out; we keep the config valid but clip the window.
    start = max(bounds["rangeStart"], net_int + 1)
    end = min(bounds["rangeEnd"], last - 1 if subnet.version == 4 else last)
    if start > end:
        raise InvalidConfig(f"{where}: no usable address between rangeStart and rangeEnd in {subnet}")
    return Range(subnet, start, end, bounds["gateway"])


@dataclass(frozen=True)
class RangeSet:
    """Ranges of one family that share a lease: one address is taken from the first with room."""

    ranges: tuple[Range, ...]

    @property
    def family(self) -> int:
        return self.ranges[0].family

    def range_for(self, value: int, family: int) -> Range | None:
        if family != self.family:
            return None
        for rng in self.ranges:
            if rng.contains(value):
                return rng
        return None

    def contains(self, addr: Address) -> bool:
        return self.range_for(int(addr), addr.version) is not None

    def is_gateway(self, value: int) -> bool:
        return any(rng.gateway == value for rng in self.ranges)

    def size(self) -> int:
        return sum(rng.size() for rng in self.ranges)

    def describe(self) -> str:
        return ",".join(rng.describe() for rng in self.ranges)

    def overlaps(self, other: RangeSet) -> bool:
        return any(a.overlaps(b) for a in self.ranges for b in other.ranges)

    def candidates(self, last_reserved: int | None) -> Iterator[tuple[Range, int]]:
        """Every allocatable address once, round robin: from just after `last_reserved`, wrapping around.

        The address after the last one handed out comes first, so a released address is not reused at
        once (stale ARP caches, cni#194); `last_reserved` itself comes last. Gateways are skipped.
        """
        ranges, n = self.ranges, len(self.ranges)
        first_idx, first_val = 0, ranges[0].start
        if last_reserved is not None:
            for idx, rng in enumerate(ranges):
                if rng.contains(last_reserved):
                    first_idx, first_val = idx, last_reserved + 1
                    if last_reserved == rng.end:
                        first_idx, first_val = (idx + 1) % n, ranges[(idx + 1) % n].start
                    break
        head = ranges[first_idx]
        segments = [(head, first_val, head.end)]
        for k in range(1, n):
            rng = ranges[(first_idx + k) % n]
            segments.append((rng, rng.start, rng.end))
        segments.append((head, head.start, first_val - 1))
        for rng, lo, hi in segments:
            for value in range(lo, hi + 1):
                if value != rng.gateway:
                    yield rng, value


def parse_range_set(conf: Any, where: str) -> RangeSet:
    """A list of ranges of one family, pairwise disjoint."""
    if not isinstance(conf, list) or not conf:
        raise InvalidConfig(f"{where}: a range set must be a non-empty list of ranges")
    ranges = tuple(parse_range(item, f"{where}[{i}]") for i, item in enumerate(conf))
    if len({rng.family for rng in ranges}) > 1:
        raise InvalidConfig(f"{where}: mixed address families in one range set")
    for i, a in enumerate(ranges):
        for b in ranges[i + 1 :]:
            if a.overlaps(b):
                raise InvalidConfig(f"{where}: ranges {a.describe()} and {b.describe()} overlap")
    return RangeSet(ranges)
