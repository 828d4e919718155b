"""The result cache, byte-compatible with Go libcni (cni-spec.md section 5.8).

`<cache dir>/results/<network>-<containerID>-<ifname>` holds one compact JSON object with the keys of
Go's `cachedInfo` struct in its field order: kind, containerId, config (the conflist bytes, base64),
ifName, networkName, then netns, cniArgs, capabilityArgs and result, each omitted when empty. The
result and capabilityArgs were decoded into Go maps, so their keys are sorted. A runtime built on Go
libcni (containerd, CRI-O) and our cnitool can therefore clean up after each other.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from typing import Any

from libcni.client import gojson
from libcni.errors import CNIError

DEFAULT_CACHE_DIR = "/var/lib/cni"
KIND_V1 = "cniCacheV1"


@dataclass(frozen=True)
class Attachment:
    """One cached attachment (Go's NetworkAttachment)."""

    container_id: str
    network: str
    ifname: str
    config: bytes = b""
    netns: str = ""
    cni_args: tuple[tuple[str, str], ...] = ()
    capability_args: dict = field(default_factory=dict)
    result: dict | None = None


def cache_path(cache_dir: str, network: str, container_id: str, ifname: str) -> str:
    if not (network and container_id and ifname):
        raise CNIError(
            f"cache file path requires network name ({json.dumps(network)}), container ID"
            f" ({json.dumps(container_id)}), and interface name ({json.dumps(ifname)})"
        )
    return os.path.join(cache_dir, "results", f"{network}-{container_id}-{ifname}")


def encode(att: Attachment) -> bytes:
    """The file content Go's cacheAdd writes for `att`."""
    doc: dict[str, Any] = {
        "kind": KIND_V1,
        "containerId": att.container_id,
        # A Go []byte marshals as base64 and a nil one as null.
        "config": base64.b64encode(att.config).decode() if att.config else None,
        "ifName": att.ifname,
        "networkName": att.network,
    }
    if att.netns:
        doc["netns"] = att.netns
    if att.cni_args:
        doc["cniArgs"] = [[k, v] for k, v in att.cni_args]
    if att.capability_args:
        doc["capabilityArgs"] = gojson.as_go_map(att.capability_args)
    if att.result:
        doc["result"] = gojson.as_go_map(att.result)
    return gojson.marshal(doc, sort_keys=False)


def write(cache_dir: str, att: Attachment) -> str:
    """Write the entry (dir 0700, file 0600) atomically, so a crash never leaves half a file."""
    path = cache_path(cache_dir, att.network, att.container_id, att.ifname)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    # The temporary file lives outside results/, where a runtime listing the cache could pick it up.
    tmp = os.path.join(cache_dir, f".{os.path.basename(path)}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(encode(att))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def delete(cache_dir: str, network: str, container_id: str, ifname: str) -> None:
    """Remove an entry; missing is fine (Go ignores every error here)."""
    try:
        os.unlink(cache_path(cache_dir, network, container_id, ifname))
    except (OSError, CNIError):
        pass


def decode(data: bytes) -> Attachment | None:
    """A v1 entry, or None when the bytes are not one (legacy bare results are handled by the caller)."""
    try:
        doc = json.loads(data)
    except ValueError:
        return None
    if not isinstance(doc, dict) or doc.get("kind") != KIND_V1:
        return None
    try:
        config = base64.b64decode(doc.get("config") or "", validate=True)
        cni_args = tuple((str(k), str(v)) for k, v in doc.get("cniArgs") or [])
    except (ValueError, TypeError):
        return None
    result = doc.get("result")
    return Attachment(
        container_id=str(doc.get("containerId") or ""),
        network=str(doc.get("networkName") or ""),
        ifname=str(doc.get("ifName") or ""),
        config=config,
        netns=str(doc.get("netns") or ""),
        cni_args=cni_args,
        capability_args=doc.get("capabilityArgs") or {},
        result=result if isinstance(result, dict) else None,
    )


def read_raw(cache_dir: str, network: str, container_id: str, ifname: str) -> bytes | None:
    """The entry's bytes, or None when there is no readable entry."""
    try:
        with open(cache_path(cache_dir, network, container_id, ifname), "rb") as fh:
            return fh.read()
    except OSError:
        return None


def attachments(cache_dir: str, container_id: str = "") -> list[Attachment]:
    """Every complete v1 entry, sorted by file name; filtered on `container_id` when one is given."""
    directory = os.path.join(cache_dir, "results")
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    found = []
    for name in names:
        if container_id:
            pos = name.find(f"-{container_id}-")
            if pos <= 0 or pos + len(container_id) + 2 >= len(name):
                continue
        try:
            with open(os.path.join(directory, name), "rb") as fh:
                att = decode(fh.read())
        except OSError:
            continue
        if att is None or not att.ifname or not att.network:
            continue
        if container_id and att.container_id != container_id:
            continue
        found.append(att)
    return found
