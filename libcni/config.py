"""The keys every plugin config shares, read once into a frozen dataclass.

Plugin-specific `load_conf` functions build on `NetConf.from_args`; handlers never index raw dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from libcni.errors import InvalidConfig
from libcni.types import DNS, Result, parse_prev_result

TYPE_CHECKING = False  # typing.TYPE_CHECKING without loading typing at run time (~2 ms per call)
if TYPE_CHECKING:
    from typing import Any


def require_type(value: Any, kind: type | tuple[type, ...], key: str) -> Any:
    """Return `value` if it has the JSON type `kind`, else a code-7 error naming key and value."""
    ok = isinstance(value, kind) and not (isinstance(value, bool) and kind in (int, (int,)))
    if not ok:
        names = {bool: "a boolean", int: "an integer", str: "a string", list: "a list", dict: "an object"}
        wanted = names.get(kind, str(kind)) if isinstance(kind, type) else "of another type"
        raise InvalidConfig(f'invalid value for "{key}": {value!r} is not {wanted}')
    return value


def get_bool(conf: dict, key: str, default: bool = False) -> bool:
    value = conf.get(key)
    return default if value is None else require_type(value, bool, key)


def get_str(conf: dict, key: str, default: str = "") -> str:
    value = conf.get(key)
    return default if value is None else require_type(value, str, key)


def get_int(conf: dict, key: str, default: int = 0) -> int:
    value = conf.get(key)
    return default if value is None else require_type(value, int, key)


def get_dict(conf: dict, key: str) -> dict:
    value = conf.get(key)
    return {} if value is None else require_type(value, dict, key)


@dataclass(frozen=True)
class NetConf:
    """The keys every plugin config shares, validated."""

    cni_version: str
    name: str
    type: str
    runtime_config: dict = field(default_factory=dict)
    args_cni: dict = field(default_factory=dict)
    ipam: dict = field(default_factory=dict)
    dns: DNS = field(default_factory=DNS)
    prev_result: Result | None = None

    @classmethod
    def from_dict(cls, conf: dict) -> NetConf:
        version = str(conf.get("cniVersion") or "0.1.0")
        args = get_dict(conf, "args")
        ipam = get_dict(conf, "ipam")
        return cls(
            cni_version=version,
            name=get_str(conf, "name"),
            type=get_str(conf, "type"),
            runtime_config=get_dict(conf, "runtimeConfig"),
            args_cni=require_type(args.get("cni") or {}, dict, "args.cni"),
            ipam=ipam,
            dns=DNS.from_json(conf.get("dns")),
            prev_result=parse_prev_result(conf.get("prevResult"), version),
        )

    @property
    def ipam_type(self) -> str:
        return str(self.ipam.get("type") or "")


def valid_attachments(config: dict) -> set[tuple[str, str]]:
    """GC's keep-list: `cni.dev/valid-attachments`, else the older `cni.dev/attachments` (libcni sends both).

    Absent or null means no attachment is valid. A malformed list is a code-7 error rather than an empty
    set: reading garbage as "nothing is valid" would make GC delete every attachment's state.
    """
    key = "cni.dev/valid-attachments" if "cni.dev/valid-attachments" in config else "cni.dev/attachments"
    raw = config.get(key)
    if raw is None:
        return set()
    if not isinstance(raw, list):
        raise InvalidConfig(f'invalid value for "{key}": {raw!r} is not a list')
    valid = set()
    for item in raw:
        cid = item.get("containerID") if isinstance(item, dict) else None
        ifname = item.get("ifname") if isinstance(item, dict) else None
        if not isinstance(cid, str) or not isinstance(ifname, str) or not cid:
            raise InvalidConfig(f'invalid entry in "{key}": {item!r} needs string containerID and ifname')
        valid.add((cid.strip(), ifname))
    return valid
