"""Allocation over range sets: one address per set, round robin, requested IPs honoured or refused.

Works on a locked store session (disk or memory) and never takes the lock itself: the caller holds one
lock for the whole ADD, every range set included, so a dual-stack ADD is atomic against other calls.
"""

from __future__ import annotations

import ipaddress

from libcni.errors import CNIError, InvalidConfig, NotAvailable
from libcni.ipam.ranges import Address, RangeSet, ip_text
from libcni.ipam.store import MemorySession, holders, owner_text, parse_owner
from libcni.types import IPConfig


def plan_requests(sets: tuple[RangeSet, ...], requested: tuple[Address, ...]) -> list[Address | None]:
    """The requested IP for each range set (the first one inside it); refuse those no set can take."""
    remaining = list(requested)
    plan: list[Address | None] = []
    for rs in sets:
        match = next((addr for addr in remaining if rs.contains(addr)), None)
        if match is not None:
            remaining.remove(match)
        plan.append(match)
    if remaining:
        texts = ", ".join(str(a) for a in remaining)
        raise InvalidConfig(
            f"failed to allocate all requested IPs: {texts}",
            "each requested IP must lie inside a different range set (between rangeStart and rangeEnd)",
        )
    return plan


def _last_reserved(session: MemorySession, set_id: int, rs: RangeSet) -> int | None:
    text = session.last_reserved(set_id)
    if not text:
        return None
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None  # a torn or foreign value: start over at rangeStart
    return int(addr) if rs.contains(addr) else None


def _reserve(session: MemorySession, set_id: int, text: str, owner: str) -> bool:
    """Reserve `text` and record it as the set's last reserved; a failed record releases it again
    (the caller's rollback only knows the addresses it got back)."""
    if not session.reserve(text, owner):
        return False
    try:
        session.set_last_reserved(set_id, text)
    except BaseException as err:
        session.release(text)
        if isinstance(err, OSError):
            raise CNIError(f"cannot record {text} in last_reserved_ip.{set_id}", err.strerror or str(err)) from None
        raise
    return True


def _get_requested(session: MemorySession, set_id: int, rs: RangeSet, addr: Address, owner: str) -> IPConfig:
    rng = rs.range_for(int(addr), addr.version)
    assert rng is not None  # plan_requests only hands out addresses inside the set
    if rng.gateway == int(addr):
        raise CNIError(f"requested ip {addr} is subnet's gateway")
    text = str(addr)
    if not _reserve(session, set_id, text, owner):
        raise CNIError(f"requested IP address {text} is not available in range set {rs.describe()}")
    return IPConfig(address=rng.cidr(int(addr)), gateway=rng.gateway_text())


def _get_dynamic(session: MemorySession, set_id: int, rs: RangeSet, container_id: str, ifname: str) -> IPConfig:
    for held in holders(session.owners, container_id, ifname):
        if rs.contains(ipaddress.ip_address(held)):
            raise CNIError(f"{held} has been allocated to {container_id}, duplicate allocation is not allowed")
    owner = owner_text(container_id, ifname)
    owners, family = session.owners, rs.family
    for rng, value in rs.candidates(_last_reserved(session, set_id, rs)):
        text = ip_text(family, value)
        if owners.get(text):
            continue  # held according to the mirror: no syscall needed
        if _reserve(session, set_id, text, owner):
            return IPConfig(address=rng.cidr(value), gateway=rng.gateway_text())
    raise CNIError(f"no IP addresses available in range set: {rs.describe()}")


def allocate(
    session: MemorySession,
    sets: tuple[RangeSet, ...],
    plan: list[Address | None],
    container_id: str,
    ifname: str,
) -> list[IPConfig]:
    """One address per range set, all or nothing: on failure, what this call reserved is released."""
    owner = owner_text(container_id, ifname)
    done: list[IPConfig] = []
    try:
        for set_id, rs in enumerate(sets):
            wanted = plan[set_id]
            try:
                if wanted is not None:
                    done.append(_get_requested(session, set_id, rs, wanted, owner))
                else:
                    done.append(_get_dynamic(session, set_id, rs, container_id, ifname))
            except CNIError as err:
                msg = f"failed to allocate for range {set_id}: {err.msg}"
                raise CNIError(msg, err.details, code=err.code) from None
    except BaseException:
        for ipc in done:
            session.release(ipc.ip)
        raise
    return done


def release(session: MemorySession, container_id: str, ifname: str) -> list[str]:
    """Release everything (container_id, ifname) holds (legacy id-only files too); return what was freed."""
    freed = holders(session.owners, container_id, ifname)
    for ip in freed:
        session.release(ip)
    return freed


def collect_garbage(session: MemorySession, valid: set[tuple[str, str]]) -> list[str]:
    """Release every reservation whose attachment is not in `valid`; legacy files match any ifname."""
    valid_ids = {cid for cid, _ in valid}
    freed = []
    for ip, text in list(session.owners.items()):
        cid, ifname = parse_owner(text)
        keep = bool(cid) and (cid in valid_ids if ifname is None else (cid, ifname) in valid)
        if not keep:
            session.release(ip)
            freed.append(ip)
    return freed


def free_count(session: MemorySession, rs: RangeSet) -> int:
    """How many addresses of `rs` could still be handed out (empty orphan files count as free)."""
    used = 0
    for ip, text in session.owners.items():
        if not text:
            continue
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            continue
        value = int(addr)
        if rs.contains(addr) and not any(rng.gateway == value for rng in rs.ranges):
            used += 1
    return rs.size() - used


def check_available(session: MemorySession, sets: tuple[RangeSet, ...], network: str) -> None:
    """STATUS: code 50 when an ADD cannot succeed, i.e. when some range set has no address left.

    An ADD takes one address from every set, so one exhausted set is enough (for a single-set
    network this is the same as "every set exhausted")."""
    full = [rs.describe() for rs in sets if free_count(session, rs) <= 0]
    if full:
        raise NotAvailable(f"network {network}: no IP addresses available in range set: {'; '.join(full)}")
