"""host-local's configuration: every key and source of the reference, parsed once and validated fully.

Sources of range sets, in the final order (their index N names `last_reserved_ip.N` on disk):
`runtimeConfig.ipRanges`, then the legacy top-level `subnet`/`rangeStart`/`rangeEnd`/`gateway`, then
`ranges`. Requested IPs come from `args.cni.ips` (or, when that is empty, CNI_ARGS `IP`), then
`runtimeConfig.ips`. The reference also merges CNI_ARGS when `args` carries IPs; the conventions say
`args` wins, and so do we.
"""

from __future__ import annotations

from dataclasses import dataclass

from libcni import version as ver
from libcni.args import parse_cni_args
from libcni.config import get_dict, get_str, require_type
from libcni.errors import CNIError, InvalidConfig
from libcni.ipam.ranges import Address, RangeSet, parse_ip, parse_range_set
from libcni.types import DNS, Route

TYPE_CHECKING = False  # typing.TYPE_CHECKING without loading typing at run time (~2 ms per call)
if TYPE_CHECKING:
    from typing import Any

DEFAULT_DATA_DIR = "/var/lib/cni/networks"
DEFAULT_LOCK_TIMEOUT = 30.0  # seconds; the reference waits forever


@dataclass(frozen=True)
class IPAMConf:
    """host-local's config: the range sets to allocate from, routes, DNS and where leases live."""

    name: str  # the network name: the state lives in <data_dir>/<name>/
    cni_version: str
    range_sets: tuple[RangeSet, ...]
    routes: tuple[Route, ...]
    data_dir: str
    resolv_conf: str  # read by ADD only (parse_resolv_conf): other verbs must not fail once it is gone
    requested: tuple[Address, ...]
    lock_timeout: float


def _routes(ipam: dict) -> tuple[Route, ...]:
    raw = ipam.get("routes")
    if raw is None:
        return ()
    require_type(raw, list, "ipam.routes")
    routes = []
    for item in raw:
        try:
            routes.append(Route.from_json(item))
        except CNIError as err:
            raise InvalidConfig(f"invalid ipam.routes entry {item!r}", str(err)) from None
    return tuple(routes)


def parse_resolv_conf(path: str) -> DNS:
    """nameserver/domain/search/options lines of a resolv.conf file, as the reference reads them."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError as err:
        raise InvalidConfig(f"cannot read resolvConf {path}: {err.strerror}") from None
    dns = DNS()
    for line in lines:
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        fields = line.split()
        if len(fields) < 2:
            continue
        key, values = fields[0], fields[1:]
        if key == "nameserver":
            dns.nameservers.append(values[0])
        elif key == "domain":
            dns.domain = values[0]
        elif key == "search":
            dns.search = values
        elif key == "options":
            dns.options.extend(values)
    return dns


def _range_sets(ipam: dict, runtime: dict) -> list[Any]:
    raw: list[Any] = []
    ip_ranges = runtime.get("ipRanges")
    if ip_ranges:
        raw.extend(require_type(ip_ranges, list, "runtimeConfig.ipRanges"))
    if ipam.get("subnet"):
        legacy = {k: ipam[k] for k in ("subnet", "rangeStart", "rangeEnd", "gateway") if k in ipam}
        raw.append([legacy])
    ranges = ipam.get("ranges")
    if ranges is not None:
        raw.extend(require_type(ranges, list, "ipam.ranges"))
    return raw


def _validate_sets(sets: list[RangeSet], cni_version: str) -> None:
    per_family = [sum(1 for s in sets if s.family == fam) for fam in (4, 6)]
    if max(per_family) > 1 and not ver.at_least(cni_version, "0.3.0"):
        raise InvalidConfig(f"CNI version {cni_version} does not support more than 1 address per family")
    for i, first in enumerate(sets):
        for j in range(i + 1, len(sets)):
            if first.overlaps(sets[j]):
                raise InvalidConfig(f"range set {i} overlaps with {j}")


def _requested_ips(config: dict, raw_cni_args: str) -> tuple[Address, ...]:
    env_args = parse_cni_args(raw_cni_args, known=("IP",))
    args_cni = require_type(get_dict(config, "args").get("cni") or {}, dict, "args.cni")
    texts: list[Any] = list(require_type(args_cni.get("ips") or [], list, "args.cni.ips"))
    if not texts and env_args.get("IP"):
        texts.append(env_args["IP"])
    runtime_ips = get_dict(config, "runtimeConfig").get("ips") or []
    texts.extend(require_type(runtime_ips, list, "runtimeConfig.ips"))
    seen: dict[Address, None] = {}
    for text in texts:
        seen.setdefault(parse_ip(text, "requested ips"), None)
    return tuple(seen)


def load_conf(config: dict, raw_cni_args: str = "", *, need_ranges: bool = True) -> IPAMConf:
    """Parse the calling plugin's whole config (the `ipam` object and the top-level sources)."""
    if config.get("ipam") is None:
        raise InvalidConfig("IPAM config missing 'ipam' key")
    ipam = get_dict(config, "ipam")
    cni_version = get_str(config, "cniVersion") or "0.1.0"
    runtime = get_dict(config, "runtimeConfig")
    sets = [parse_range_set(raw, f"invalid range set {i}") for i, raw in enumerate(_range_sets(ipam, runtime))]
    if not sets and need_ranges:
        raise InvalidConfig("no IP ranges specified")
    _validate_sets(sets, cni_version)
    timeout = ipam.get("lockTimeout", DEFAULT_LOCK_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise InvalidConfig(f'invalid value for "ipam.lockTimeout": {timeout!r} is not a positive number of seconds')
    return IPAMConf(
        name=get_str(config, "name"),
        cni_version=cni_version,
        range_sets=tuple(sets),
        routes=_routes(ipam),
        data_dir=get_str(ipam, "dataDir") or DEFAULT_DATA_DIR,
        resolv_conf=get_str(ipam, "resolvConf"),
        requested=_requested_ips(config, raw_cni_args),
        lock_timeout=float(timeout),
    )
