"""Network configuration lists: parse them from bytes, and find one by name in a config directory.

Follows Go libcni's conf.go (cni-spec.md sections 2 and 5.10): `.conflist` files first, sorted by path,
and any parse error in them aborts the load; then the deprecated single-plugin `.conf`/`.json` files,
upconverted to a one-plugin list; `cniVersions` picks the highest version we support; plugins from the
sibling folder `<dir>/<name>/*.conf` are appended unless `loadOnlyInlinedPlugins` is true.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from libcni import version as ver
from libcni.client import gojson
from libcni.errors import CNIError, InvalidConfig

DEFAULT_CONF_DIR = "/etc/cni/net.d"


class NotFound(InvalidConfig):
    """No network of that name (Go's libcni.NotFoundError)."""


class NoConfigsFound(InvalidConfig):
    """The directory holds no configuration files at all (Go's libcni.NoConfigsFoundError)."""


@dataclass(frozen=True)
class PluginConf:
    """One plugin object of a list, kept raw: the runtime passes unknown keys through unchanged."""

    type: str
    name: str = ""  # the object's own `name`, usually empty inside a list; only used in error text
    capabilities: dict[str, bool] = field(default_factory=dict)
    raw: dict = field(default_factory=dict)

    @property
    def description(self) -> str:
        """`type="bridge"` or `type="bridge" name="x"`, as Go's pluginDescription."""
        out = f"type={json.dumps(self.type)}"
        return f"{out} name={json.dumps(self.name)}" if self.name else out


@dataclass(frozen=True)
class NetworkConfigList:
    """A parsed conflist: its plugins in chain order and the list's own bytes."""

    name: str
    cni_version: str
    plugins: tuple[PluginConf, ...]
    data: bytes  # the list's own bytes, cached base64 beside the result (sibling plugins not included)
    disable_check: bool = False
    disable_gc: bool = False
    load_only_inlined_plugins: bool = False
    source: str = ""  # the file it came from, when loaded from a directory


def _parse_object(data: bytes, what: str) -> dict:
    try:
        doc = json.loads(data)
    except ValueError as err:
        raise InvalidConfig(f"error parsing {what}: {err}") from None
    if not isinstance(doc, dict):
        raise InvalidConfig(f"error parsing {what}: not a JSON object")
    return doc


def plugin_from_dict(obj: Any, where: str = "plugin") -> PluginConf:
    """Validate one plugin object: a `type` without path separators, boolean capabilities."""
    if not isinstance(obj, dict):
        raise InvalidConfig(f"error parsing {where}: not a JSON object")
    ptype = obj.get("type")
    if not ptype:
        raise InvalidConfig(f"error parsing {where}: missing 'type'")
    if not isinstance(ptype, str) or "/" in ptype or "\\" in ptype:
        raise InvalidConfig(f'error parsing {where}: invalid plugin type "{ptype}"')
    name = obj.get("name") or ""
    if not isinstance(name, str):
        raise InvalidConfig(f"error parsing {where}: name must be a string")
    caps = obj.get("capabilities") or {}
    if not isinstance(caps, dict) or not all(isinstance(v, bool) for v in caps.values()):
        raise InvalidConfig(f"error parsing {where}: capabilities must be an object of booleans")
    return PluginConf(type=ptype, name=name, capabilities=dict(caps), raw=obj)


def _flag(doc: dict, key: str) -> bool:
    """A boolean list flag; libcni also accepts the strings "true"/"false" in any case."""
    value = doc.get(key, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise InvalidConfig(f"error parsing configuration list: invalid {key} value {json.dumps(value)}")


def pick_version(doc: dict) -> str:
    """The list's version: the highest of `cniVersions` + `cniVersion` that we support."""
    version = doc.get("cniVersion", "")
    if not isinstance(version, str):
        raise InvalidConfig("error parsing configuration list: cniVersion must be a string")
    if "cniVersions" not in doc:
        return version
    listed = doc["cniVersions"]
    if not isinstance(listed, list):
        raise InvalidConfig("error parsing configuration list: invalid type for cniVersions")
    candidates = []
    for index, entry in enumerate(listed + ([version] if version else [])):
        if not isinstance(entry, str):
            raise InvalidConfig(f"error parsing configuration list: invalid type for cniVersions index {index}")
        try:
            parsed = ver.parse(entry)
        except CNIError as err:
            raise InvalidConfig(f"error parsing configuration list: invalid cniVersions entry {entry}: {err}") from None
        # Versions newer than the spec we implement are skipped, not capped.
        if parsed <= ver.parse(ver.CURRENT):
            candidates.append((parsed, entry))
    return max(candidates)[1] if candidates else version


def conflist_from_bytes(
    data: bytes, sibling_plugins: list[PluginConf] | None = None, source: str = ""
) -> NetworkConfigList:
    """Parse a conflist; `sibling_plugins` (from the network's folder) go after the inline ones."""
    doc = _parse_object(data, "configuration list")
    name = doc.get("name")
    if not name or not isinstance(name, str):
        raise InvalidConfig("error parsing configuration list: no name")
    only_inlined = _flag(doc, "loadOnlyInlinedPlugins")
    plugins: list[PluginConf] = []
    if "plugins" in doc:
        raw = doc["plugins"]
        if not isinstance(raw, list) or not raw:
            raise InvalidConfig("error parsing configuration list: 'plugins' must be a non-empty list")
        plugins = [plugin_from_dict(p, f"plugin {i} of {name}") for i, p in enumerate(raw)]
    elif only_inlined:
        raise InvalidConfig("error parsing configuration list: no 'plugins' key with loadOnlyInlinedPlugins")
    if not only_inlined and sibling_plugins:
        plugins.extend(sibling_plugins)
    if not plugins:
        raise InvalidConfig(f"error parsing configuration list: no plugin configs found for {name}")
    return NetworkConfigList(
        name=name,
        cni_version=pick_version(doc),
        plugins=tuple(plugins),
        data=bytes(data),
        disable_check=_flag(doc, "disableCheck"),
        disable_gc=_flag(doc, "disableGC"),
        load_only_inlined_plugins=only_inlined,
        source=source,
    )


def conflist_from_conf(data: bytes, source: str = "") -> NetworkConfigList:
    """Upconvert a legacy single-plugin config; its bytes become Go's re-marshalled one-plugin list."""
    doc = _parse_object(data, "network configuration")
    plugin_from_dict(doc, "network configuration")
    listed = {"name": doc.get("name", ""), "cniVersion": doc.get("cniVersion", ""), "plugins": [doc]}
    return conflist_from_bytes(gojson.marshal(listed), source=source)


def config_files(directory: str, extensions: tuple[str, ...]) -> list[str]:
    """Regular files directly in `directory` with one of `extensions`, sorted; a missing dir has none."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    paths = [os.path.join(directory, n) for n in names if os.path.splitext(n)[1] in extensions]
    return sorted(p for p in paths if not os.path.isdir(p))


def sibling_plugins(directory: str, network: str) -> list[PluginConf]:
    """Plugin objects from `<directory>/<network>/*.conf`, in name order; each must parse and have a type."""
    plugins = []
    for path in config_files(os.path.join(directory, network), (".conf",)):
        with open(path, "rb") as fh:
            plugins.append(plugin_from_dict(_parse_object(fh.read(), path), path))
    return plugins


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def read_conflist_file(path: str, directory: str) -> NetworkConfigList:
    data = _read(path)
    doc = _parse_object(data, path)
    siblings: list[PluginConf] = []
    name = doc.get("name")
    if isinstance(name, str) and name and not _flag(doc, "loadOnlyInlinedPlugins"):
        siblings = sibling_plugins(directory, name)
    return conflist_from_bytes(data, siblings, source=path)


def load_network_conf(directory: str, name: str) -> NetworkConfigList:
    """Find network `name` in `directory` (Go's LoadNetworkConf)."""
    for path in config_files(directory, (".conflist",)):
        conflist = read_conflist_file(path, directory)
        if conflist.name == name:
            return conflist
    singles = config_files(directory, (".conf", ".json"))
    if not singles:
        if config_files(directory, (".conflist",)):
            raise NotFound(f'no net configuration with name "{name}" in {directory}')
        raise NoConfigsFound(f"no net configurations found in {directory}")
    for path in singles:
        conflist = conflist_from_conf(_read(path), source=path)
        if conflist.name == name:
            return conflist
    raise NotFound(f'no net configuration with name "{name}" in {directory}')


def list_networks(directory: str) -> list[tuple[str, NetworkConfigList | CNIError]]:
    """Every config file in `directory` with what it parses to (or why not), for `cnitool list`."""
    found: list[tuple[str, NetworkConfigList | CNIError]] = []
    for path in config_files(directory, (".conflist",)):
        try:
            found.append((path, read_conflist_file(path, directory)))
        except (CNIError, OSError) as err:
            found.append((path, err if isinstance(err, CNIError) else InvalidConfig(str(err))))
    for path in config_files(directory, (".conf", ".json")):
        try:
            found.append((path, conflist_from_conf(_read(path), source=path)))
        except (CNIError, OSError) as err:
            found.append((path, err if isinstance(err, CNIError) else InvalidConfig(str(err))))
    return found
