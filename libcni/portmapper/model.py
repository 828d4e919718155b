"""The port-forwarding model shared by both backends, and the `PortMapper` protocol they implement.

A `Forward` is everything one attachment (network name + container ID) needs in one address family:
the container's address, its mappings for that family, and the masquerade options. Backends turn it
into rules; they never look at raw config.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

PROTOCOLS = ("tcp", "udp", "sctp")


@dataclass(frozen=True)
class PortMapping:
    """One runtimeConfig.portMappings entry, normalised."""

    host_port: int
    container_port: int
    protocol: str = "tcp"
    host_ip: str = ""  # "" means any address (0.0.0.0 and :: are normalised to "")

    @property
    def family(self) -> int:
        """4 or 6 for a specific host IP, 0 when the mapping applies to both families."""
        if not self.host_ip:
            return 0
        return ipaddress.ip_address(self.host_ip).version


@dataclass(frozen=True)
class MasqOptions:
    """How portmap masquerades hairpin and localhost traffic (snat, masqAll, markMasqBit...)."""

    snat: bool = True
    masq_all: bool = False
    mark_bit: int = 13
    external_set_mark_chain: str = ""

    @property
    def mark(self) -> int:
        return 1 << self.mark_bit


@dataclass(frozen=True)
class Forward:
    """One attachment's port forwarding in one family."""

    network: str
    container_id: str
    family: int
    container_ip: str  # "10.88.0.5"
    container_net: str  # the container's subnet, "10.88.0.0/16": hairpin covers every neighbour
    mappings: tuple[PortMapping, ...]
    masq: MasqOptions
    conditions: tuple[str, ...] = ()

    @property
    def dnat_chain(self) -> str:
        return dnat_chain_name(self.network, self.container_id)

    def udp_ports(self) -> set[int]:
        return {m.host_port for m in self.mappings if m.protocol == "udp"}


@dataclass(frozen=True)
class Owner:
    """Who a DEL or GC removes rules for: the attachment, plus its container IPs when known."""

    network: str
    container_id: str
    ips: tuple[str, ...] = ()  # from prevResult; empty means "any address of this container ID"


def _chain_name(prefix: str, network: str, container_id: str) -> str:
    from libcni import digest  # only the iptables backend needs it

    return (prefix + digest.sha512((network + container_id).encode()).hexdigest())[:28]


def dnat_chain_name(network: str, container_id: str) -> str:
    """The Go plugin's per-container chain: "CNI-DN-" + sha512(name + id) hex, cut to 28 characters."""
    return _chain_name("CNI-DN-", network, container_id)


def legacy_snat_chain_name(network: str, container_id: str) -> str:
    return _chain_name("CNI-SN-", network, container_id)


def mappings_for_family(mappings: tuple[PortMapping, ...], family: int) -> tuple[PortMapping, ...]:
    return tuple(m for m in mappings if m.family in (0, family))


TYPE_CHECKING = False  # typing.TYPE_CHECKING without loading typing at run time (~2 ms per call)
if TYPE_CHECKING:  # the backends' contract, for mypy; nothing checks it at run time
    from typing import Protocol

    class PortMapper(Protocol):
        """A rule backend. Every method makes at most one netfilter change per family."""

        def forward(self, fwds: list[Forward]) -> None:
            """Install (or replace) the rules of each Forward; all-or-nothing per call where the backend can."""

        def check(self, fwds: list[Forward]) -> None:
            """Raise CNIError naming the first rule that is missing."""

        def unforward(self, owner: Owner) -> dict[int, set[int]]:
            """Remove the owner's rules in both families; return the UDP host ports removed, by family."""

        def gc(self, network: str, valid_ids: set[str]) -> dict[int, set[int]]:
            """Remove rules of this network's attachments whose container ID is not valid."""
