"""The allocator over the memory store: round robin, requested IPs, rollback, release, GC and exhaustion."""

from __future__ import annotations

import ipaddress

import pytest

from libcni.errors import CNIError, InvalidConfig
from libcni.ipam import allocator
from libcni.ipam.ranges import parse_range_set
from libcni.ipam.store import MemorySession

V4 = parse_range_set([{"subnet": "10.0.0.0/29"}], "s")  # .2-.6 allocatable (.1 gateway)
V6 = parse_range_set([{"subnet": "fd00::/125"}], "s")  # ::2-::7


def add(session, cid, sets=(V4,), requested=(), ifname="eth0"):
    plan = allocator.plan_requests(sets, tuple(ipaddress.ip_address(r) for r in requested))
    return [ipc.address for ipc in allocator.allocate(session, sets, plan, cid, ifname)]


def test_dual_stack_round_robin_does_not_reuse_a_released_address_at_once():
    s = MemorySession()
    assert add(s, "a", (V4, V6)) == ["10.0.0.2/29", "fd00::2/125"]
    assert add(s, "b", (V4, V6)) == ["10.0.0.3/29", "fd00::3/125"]
    allocator.release(s, "a", "eth0")
    assert add(s, "c", (V4, V6)) == ["10.0.0.4/29", "fd00::4/125"]
    assert s.last == {0: "10.0.0.4", 1: "fd00::4"}


def test_requested_ip_gateway_and_taken_are_refused():
    s = MemorySession()
    assert add(s, "a", requested=["10.0.0.5"]) == ["10.0.0.5/29"]
    with pytest.raises(CNIError, match="not available in range set 10.0.0.1-10.0.0.6"):
        add(s, "b", requested=["10.0.0.5"])
    with pytest.raises(CNIError, match="gateway"):
        add(s, "b", requested=["10.0.0.1"])
    with pytest.raises(InvalidConfig, match="failed to allocate all requested IPs: 10.9.9.9"):
        add(s, "b", requested=["10.9.9.9"])
    assert set(s.owners) == {"10.0.0.5"}


def test_duplicate_dynamic_allocation_is_refused():
    s = MemorySession()
    add(s, "a")
    with pytest.raises(CNIError, match="duplicate allocation"):
        add(s, "a")
    assert add(s, "a", ifname="eth1") == ["10.0.0.3/29"]


def test_failure_in_a_later_set_rolls_back_the_earlier_ones():
    s = MemorySession()
    for cid in "abcdef":  # fill the v6 /125 (6 addresses)
        add(s, cid, (V6,))
    before = dict(s.owners)
    with pytest.raises(CNIError, match="failed to allocate for range 1: no IP addresses available"):
        add(s, "x", (V4, V6))
    assert s.owners == before


@pytest.mark.parametrize("requested", [(), ("10.0.0.4", "fd00::4")])
def test_failed_last_reserved_write_releases_the_address_it_was_for(requested):
    class FailingLast(MemorySession):
        def set_last_reserved(self, set_id, ip):
            if set_id == 1:
                raise OSError(28, "No space left on device")
            super().set_last_reserved(set_id, ip)

    s = FailingLast()
    with pytest.raises(CNIError, match="No space left"):
        add(s, "a", (V4, V6), requested=requested)
    assert s.owners == {}  # neither set 0's address nor the one set 1 had just reserved


def test_exhaustion_and_status():
    s = MemorySession()
    for cid in "abcde":
        add(s, cid)
    allocator.check_available(s, (V6,), "n")
    with pytest.raises(CNIError) as err:
        allocator.check_available(s, (V4,), "n")
    assert err.value.code == 50
    with pytest.raises(CNIError, match="no IP addresses available"):
        add(s, "f")
    s.owners["10.0.0.6"] = ""  # an empty orphan file holds nothing
    assert allocator.free_count(s, V4) == 1


def test_release_falls_back_to_legacy_id_only_files():
    s = MemorySession(owners={"10.0.0.2": "old", "10.0.0.3": "old\r\neth1", "10.0.0.4": "other\r\neth0"})
    assert allocator.release(s, "old", "eth0") == ["10.0.0.2"]
    assert allocator.release(s, "old", "eth1") == ["10.0.0.3"]
    assert set(s.owners) == {"10.0.0.4"}


def test_gc_keeps_valid_attachments_and_legacy_files_of_valid_containers():
    s = MemorySession(
        owners={"10.0.0.2": "a\r\neth0", "10.0.0.3": "a\r\neth1", "10.0.0.4": "b", "10.0.0.5": "c", "10.0.0.6": ""},
        last={0: "10.0.0.6"},
    )
    freed = allocator.collect_garbage(s, {("a", "eth0"), ("b", "eth9")})
    assert sorted(freed) == ["10.0.0.3", "10.0.0.5", "10.0.0.6"]
    assert set(s.owners) == {"10.0.0.2", "10.0.0.4"}
    assert s.last == {0: "10.0.0.6"}
    assert sorted(allocator.collect_garbage(s, set())) == ["10.0.0.2", "10.0.0.4"]
