"""sysctl read/write through /proc/sys, in whatever network namespace the calling thread is in.

Names use the slash form for per-interface keys (net/ipv6/conf/<if>/accept_dad) so that interface
names with dots (VLAN devices) work; dotted names are converted like Go's sysctl helper does.
"""

from __future__ import annotations


def _path(name: str) -> str:
    if name.startswith("/"):
        return name
    if "/" not in name:
        name = name.replace(".", "/")
    return "/proc/sys/" + name


def get(name: str) -> str:
    with open(_path(name), encoding="ascii") as fh:
        return fh.read().strip()


def set(name: str, value: str) -> None:  # noqa: A001 - mirrors the sysctl verb
    with open(_path(name), "w", encoding="ascii") as fh:
        fh.write(value)


def ensure(name: str, value: str) -> None:
    """Write only when the value differs (saves a write and keeps read-only /proc cases quiet)."""
    if get(name) != value:
        set(name, value)
