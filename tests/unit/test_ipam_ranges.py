"""Range parsing (the reference's defaults and checks) and the round-robin walk over a range set."""

from __future__ import annotations

import ipaddress

import pytest

from libcni.errors import InvalidConfig
from libcni.ipam.ranges import ip_text, parse_range, parse_range_set


def ip(text: str) -> int:
    return int(ipaddress.ip_address(text))


def test_v4_defaults_skip_network_gateway_and_broadcast():
    rng = parse_range({"subnet": "10.1.2.0/24"}, "r")
    assert (rng.start, rng.end, rng.gateway) == (ip("10.1.2.1"), ip("10.1.2.254"), ip("10.1.2.1"))
    assert rng.size() == 253  # .1 is the gateway, .0 and .255 are outside the window


def test_v6_defaults_end_at_the_last_address():
    rng = parse_range({"subnet": "2001:db8:1::/120"}, "r")
    assert ip_text(6, rng.end) == "2001:db8:1::ff"
    assert ip_text(6, rng.gateway) == "2001:db8:1::1"


def test_explicit_bounds_and_gateway():
    conf = {"subnet": "10.0.0.0/16", "rangeStart": "10.0.5.1", "rangeEnd": "10.0.5.9", "gateway": "10.0.0.1"}
    rng = parse_range(conf, "r")
    assert (ip_text(4, rng.start), ip_text(4, rng.end)) == ("10.0.5.1", "10.0.5.9")
    assert rng.size() == 9


@pytest.mark.parametrize(
    ("conf", "window"),
    [
        ({"subnet": "10.0.0.0/29", "rangeStart": "10.0.0.0", "rangeEnd": "10.0.0.7"}, ("10.0.0.1", "10.0.0.6")),
        ({"subnet": "2001:db8::/125", "rangeStart": "2001:db8::"}, ("2001:db8::1", "2001:db8::7")),
    ],
)
def test_explicit_bounds_never_reach_network_or_v4_broadcast(conf, window):
    # The Go plugin accepts these bounds and then hands out .0 and .7; the window is clipped instead.
    rng = parse_range(conf, "r")
    assert (ip_text(rng.family, rng.start), ip_text(rng.family, rng.end)) == window
    values = [value for _, value in parse_range_set([conf], "s").candidates(None)]
    assert int(rng.subnet.network_address) not in values
    if rng.family == 4:
        assert int(rng.subnet.broadcast_address) not in values


def test_range_of_only_network_or_broadcast_is_code_7():
    with pytest.raises(InvalidConfig, match="no usable address"):
        parse_range({"subnet": "10.0.0.0/24", "rangeStart": "10.0.0.0", "rangeEnd": "10.0.0.0"}, "r")


@pytest.mark.parametrize(
    ("conf", "needle"),
    [
        ({"subnet": "10.1.2.3/24"}, "host bits set"),
        ({"subnet": "10.1.2.0/31"}, "too small"),
        ({"subnet": "2001:db8::/127"}, "too small"),
        ({"subnet": "10.1.2.0/24", "rangeStart": "10.1.3.1"}, "not in network"),
        ({"subnet": "10.1.2.0/24", "rangeEnd": "10.1.1.1"}, "not in network"),
        ({"subnet": "10.1.2.0/24", "rangeStart": "10.1.2.9", "rangeEnd": "10.1.2.3"}, "after rangeEnd"),
        ({"subnet": "10.1.2.0/24", "gateway": "2001:db8::1"}, "address family"),
        ({"subnet": "nonsense"}, "invalid subnet"),
        ({}, "missing subnet"),
        ("10.0.0.0/24", "must be an object"),
    ],
)
def test_bad_ranges_are_code_7(conf, needle):
    with pytest.raises(InvalidConfig) as err:
        parse_range(conf, "r")
    assert needle in str(err.value)
    assert err.value.code == 7


def test_set_rejects_mixed_families_and_overlaps_but_allows_disjoint_windows_of_one_subnet():
    with pytest.raises(InvalidConfig, match="mixed address families"):
        parse_range_set([{"subnet": "10.0.0.0/24"}, {"subnet": "2001:db8::/64"}], "s")
    with pytest.raises(InvalidConfig, match="overlap"):
        parse_range_set([{"subnet": "10.0.0.0/16"}, {"subnet": "10.0.1.0/24"}], "s")
    ok = parse_range_set(
        [
            {"subnet": "10.0.0.0/24", "rangeStart": "10.0.0.10", "rangeEnd": "10.0.0.20"},
            {"subnet": "10.0.0.0/24", "rangeStart": "10.0.0.30", "rangeEnd": "10.0.0.40"},
        ],
        "s",
    )
    assert ok.size() == 22


def walk(rs, last=None):
    return [ip_text(rs.family, v) for _, v in rs.candidates(None if last is None else ip(last))]


def test_round_robin_starts_after_last_reserved_wraps_and_skips_gateways():
    rs = parse_range_set(
        [
            {"subnet": "10.0.0.0/29"},  # window .1-.6, gateway .1
            {"subnet": "10.0.1.0/30", "rangeStart": "10.0.1.1", "rangeEnd": "10.0.1.2", "gateway": "10.0.1.2"},
        ],
        "s",
    )
    fresh = ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.1.1"]
    assert walk(rs) == fresh
    # Right after the last reserved one, every address exactly once, the last reserved one last.
    assert walk(rs, "10.0.0.4") == ["10.0.0.5", "10.0.0.6", "10.0.1.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]
    # The end of the last range wraps to the first range's start.
    assert walk(rs, "10.0.1.1") == fresh[:-1] + ["10.0.1.1"]
    # A last-reserved address outside the set (ranges changed) restarts at rangeStart.
    assert walk(rs, "192.168.0.1") == fresh


def test_v6_walk_reaches_the_all_ones_address():
    rs = parse_range_set([{"subnet": "2001:db8::/126"}], "s")
    assert walk(rs) == ["2001:db8::2", "2001:db8::3"]
