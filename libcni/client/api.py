"""Run a network configuration list the way Go libcni's CNIConfig does (cni-spec.md section 5).

ADD runs the plugins in order, each getting the previous result as `prevResult`, and caches the final
result; DEL runs them in reverse with the cached result; CHECK in order with the cached result; GC
DELs stale cached attachments, then sends every plugin GC with the valid list; STATUS stops at the
first unavailable plugin. A plugin's failure keeps the plugin's CNI code and says which plugin and
which verb failed. Plugins are found in `path` and run with the caller's environment plus CNI_*.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from libcni import version as ver
from libcni.client import cache
from libcni.client.conf import NetworkConfigList, PluginConf
from libcni.errors import CNIError, DecodingFailure
from libcni.ipam.delegate import error_from_output, find_in_path
from libcni.ipam.delegate import exec_plugin as exec_retrying_busy
from libcni.skel import validate_container_id, validate_ifname, validate_network_name
from libcni.types import Result


@dataclass(frozen=True)
class RuntimeConf:
    """One attachment's runtime arguments (Go's RuntimeConf)."""

    container_id: str = ""
    netns: str = ""
    ifname: str = ""
    args: tuple[tuple[str, str], ...] = ()  # CNI_ARGS pairs
    capability_args: dict = field(default_factory=dict)


class PluginError(CNIError):
    """A plugin of a list failed: the plugin's own code, plus which plugin and which verb."""

    def __init__(self, plugin: PluginConf, verb: str, cause: CNIError) -> None:
        super().__init__(cause.msg, cause.details, code=cause.code)
        self.plugin = plugin
        self.verb = verb
        self.cause = cause

    def __str__(self) -> str:
        return f"plugin {self.plugin.description} failed ({self.verb}): {self.cause}"


class MultiError(CNIError):
    """Several independent failures (GC carries on past each one), joined as Go's errors.Join."""

    def __init__(self, errors: list[CNIError]) -> None:
        super().__init__("\n".join(str(e) for e in errors), code=errors[0].code)
        self.errors = errors


def result_json(result: Result, version: str | None = None) -> dict:
    """A result as Go marshals its Result struct: 1.x results always carry `dns`, even empty."""
    doc = result.to_json(version)
    if "dns" not in doc:
        doc["dns"] = {}
    return doc


class CNIConfig:
    """The client: plugin search path, cache directory and the environment handed to plugins."""

    def __init__(self, path: list[str], cache_dir: str = "", environ: dict[str, str] | None = None) -> None:
        self.path = list(path)
        self.cache_dir = cache_dir or cache.DEFAULT_CACHE_DIR
        self.environ = dict(os.environ if environ is None else environ)

    # -- exec ------------------------------------------------------------------------------------

    def _env(self, command: str, rt: RuntimeConf) -> dict[str, str]:
        env = dict(self.environ)
        env.update(
            {
                "CNI_COMMAND": command,
                "CNI_CONTAINERID": rt.container_id,
                "CNI_NETNS": rt.netns,
                "CNI_ARGS": ";".join(f"{k}={v}" for k, v in rt.args),
                "CNI_IFNAME": rt.ifname,
                "CNI_PATH": os.pathsep.join(self.path),
            }
        )
        return env

    def exec_plugin(self, plugin_type: str, command: str, conf: dict, rt: RuntimeConf) -> bytes:
        """Run one plugin; its stdout on success, its error (code kept) as a CNIError otherwise."""
        path = find_in_path(plugin_type, self.path)
        completed = exec_retrying_busy(path, json.dumps(conf).encode(), self._env(command, rt))
        if completed.stderr:
            sys.stderr.buffer.write(completed.stderr)
            sys.stderr.flush()
        if completed.returncode != 0:
            raise error_from_output(completed, plugin_type)
        return completed.stdout

    @staticmethod
    def build_config(conflist: NetworkConfigList, plugin: PluginConf, prev: Result | None, rt: RuntimeConf) -> dict:
        """What one plugin gets on stdin: its object, the list's name and version, prevResult and the
        capability args it declared (runtimeConfig only when that intersection is not empty)."""
        conf = dict(plugin.raw)
        conf["name"] = conflist.name
        conf["cniVersion"] = conflist.cni_version
        if prev is not None:
            conf["prevResult"] = result_json(prev)
        runtime = {
            cap: rt.capability_args[cap] for cap, on in plugin.capabilities.items() if on and cap in rt.capability_args
        }
        if runtime:
            conf["runtimeConfig"] = runtime
        return conf

    # -- ADD / DEL / CHECK -------------------------------------------------------------------------

    def _add_one(self, conflist: NetworkConfigList, plugin: PluginConf, prev: Result | None, rt: RuntimeConf) -> Result:
        find_in_path(plugin.type, self.path)
        validate_container_id(rt.container_id)
        validate_network_name(conflist.name)
        validate_ifname(rt.ifname)
        out = self.exec_plugin(plugin.type, "ADD", self.build_config(conflist, plugin, prev, rt), rt)
        try:
            doc = json.loads(out)
        except ValueError as err:
            raise DecodingFailure(f"failed to parse the plugin's result: {err}", out.decode(errors="replace")) from None
        # A result without cniVersion is read in the config's version (Go's fixupResultVersion).
        return Result.from_json(doc, conflist.cni_version or "0.1.0")

    def add_network_list(self, conflist: NetworkConfigList, rt: RuntimeConf) -> Result:
        """ADD every plugin in order; the final result is cached and returned. No DEL on failure:
        the runtime must call DEL anyway (the spec says a DEL follows even a failed ADD)."""
        result: Result | None = None
        for plugin in conflist.plugins:
            try:
                result = self._add_one(conflist, plugin, result, rt)
            except CNIError as err:
                raise PluginError(plugin, "add", err) from err
        assert result is not None  # a list always has at least one plugin
        att = cache.Attachment(
            container_id=rt.container_id,
            network=conflist.name,
            ifname=rt.ifname,
            config=conflist.data,
            netns=rt.netns,
            cni_args=rt.args,
            capability_args=rt.capability_args,
            result=result_json(result),
        )
        try:
            cache.write(self.cache_dir, att)
        except (OSError, CNIError) as err:
            raise CNIError(f'failed to set network "{conflist.name}" cached result: {err}') from err
        return result

    def cached_result(self, conflist: NetworkConfigList, rt: RuntimeConf) -> Result | None:
        """The cached final result converted to the list's version; None when nothing is cached."""
        raw = cache.read_raw(self.cache_dir, conflist.name, rt.container_id, rt.ifname)
        if raw is None:
            return None
        att = cache.decode(raw)
        if att is not None:
            doc: Any = att.result
        else:
            try:  # legacy entries are a bare result
                doc = json.loads(raw)
            except ValueError as err:
                raise DecodingFailure(f"failed to parse cached result: {err}") from None
        version = conflist.cni_version or "0.1.0"
        try:
            return Result.from_json(Result.from_json(doc, version).to_json(version), version)
        except CNIError as err:
            raise CNIError(f'failed to convert cached result to config version "{version}": {err}') from err

    def del_network_list(self, conflist: NetworkConfigList, rt: RuntimeConf) -> None:
        """DEL every plugin in reverse order, each with the cached result; then drop the cache entry."""
        cached = None
        if ver.at_least(conflist.cni_version, "0.4.0"):
            try:
                cached = self.cached_result(conflist, rt)
            except CNIError:
                # A corrupt entry cannot be fixed by anyone: drop it and delete without prevResult.
                cache.delete(self.cache_dir, conflist.name, rt.container_id, rt.ifname)
        for plugin in reversed(conflist.plugins):
            try:
                self.exec_plugin(plugin.type, "DEL", self.build_config(conflist, plugin, cached, rt), rt)
            except CNIError as err:
                raise PluginError(plugin, "delete", err) from err
        cache.delete(self.cache_dir, conflist.name, rt.container_id, rt.ifname)

    def check_network_list(self, conflist: NetworkConfigList, rt: RuntimeConf) -> None:
        if not ver.at_least(conflist.cni_version, "0.4.0"):
            raise CNIError(f'configuration version "{conflist.cni_version}" does not support the CHECK command')
        if conflist.disable_check:
            return
        try:
            cached = self.cached_result(conflist, rt)
        except CNIError as err:
            raise CNIError(f'failed to get network "{conflist.name}" cached result: {err}') from err
        for plugin in conflist.plugins:
            try:
                self.exec_plugin(plugin.type, "CHECK", self.build_config(conflist, plugin, cached, rt), rt)
            except CNIError as err:
                raise PluginError(plugin, "check", err) from err

    # -- GC / STATUS / VERSION ---------------------------------------------------------------------

    def gc_network_list(self, conflist: NetworkConfigList, valid: list[tuple[str, str]] | None = None) -> None:
        """DEL cached attachments of this network not in `valid` (all of them when None), then GC
        each plugin (spec >= 1.1.0). Failures are collected, never stop the sweep."""
        if conflist.disable_gc:
            return
        keep = set(valid or ())
        errors: list[CNIError] = []
        for att in cache.attachments(self.cache_dir):
            if att.network != conflist.name or (att.container_id, att.ifname) in keep:
                continue
            rt = RuntimeConf(att.container_id, att.netns, att.ifname, att.cni_args, att.capability_args)
            try:
                self.del_network_list(conflist, rt)
            except CNIError as err:
                errors.append(
                    CNIError(f"failed to delete stale attachment {att.container_id} {att.ifname}: {err}", code=err.code)
                )
        if ver.at_least(conflist.cni_version, "1.1.0"):
            for plugin in conflist.plugins:
                conf = dict(plugin.raw, name=conflist.name, cniVersion=conflist.cni_version)
                if valid is not None:
                    listed = [{"containerID": cid, "ifname": ifname} for cid, ifname in valid]
                    # Both spellings: the 1.1.0 spec tag says one, libcni and later specs the other.
                    conf["cni.dev/valid-attachments"] = listed
                    conf["cni.dev/attachments"] = listed
                try:
                    self.exec_plugin(plugin.type, "GC", conf, RuntimeConf())
                except CNIError as err:
                    errors.append(CNIError(f"failed to GC plugin {plugin.type}: {err}", code=err.code))
        if errors:
            raise MultiError(errors)

    def get_status_network_list(self, conflist: NetworkConfigList) -> None:
        """STATUS each plugin in order; the first failure is raised with the plugin's code (50/51)."""
        if not ver.at_least(conflist.cni_version, "1.1.0"):
            return
        for plugin in conflist.plugins:
            conf = dict(plugin.raw, name=conflist.name, cniVersion=conflist.cni_version)
            try:
                self.exec_plugin(plugin.type, "STATUS", conf, RuntimeConf())
            except CNIError as err:
                raise PluginError(plugin, "status", err) from err

    def get_version_info(self, plugin_type: str) -> list[str]:
        """The spec versions a plugin supports (its VERSION answer)."""
        rt = RuntimeConf(netns="dummy", ifname="dummy")  # old skels required these even for VERSION
        try:
            out = self.exec_plugin(plugin_type, "VERSION", {"cniVersion": ver.CURRENT}, rt)
        except CNIError as err:
            if str(err) == "unknown CNI_COMMAND: VERSION":
                return ["0.1.0"]
            raise
        try:
            doc = json.loads(out)
            if not doc.get("cniVersion"):
                raise ValueError("missing field cniVersion")
            versions = doc.get("supportedVersions")
            if versions is None and doc["cniVersion"] == "0.1.0":
                return ["0.1.0"]
            if not isinstance(versions, list) or not all(isinstance(v, str) for v in versions):
                raise ValueError("supportedVersions must be a list of strings")
            return versions
        except (ValueError, AttributeError) as err:
            raise DecodingFailure(f"decoding version info: {err}") from None

    def validate_network_list(self, conflist: NetworkConfigList) -> list[str]:
        """Check every plugin exists and supports the list's version; return the enabled capabilities."""
        wanted = conflist.cni_version or "0.1.0"
        errors: list[CNIError] = []
        caps: dict[str, None] = {}
        for plugin in conflist.plugins:
            try:
                if wanted not in self.get_version_info(plugin.type):
                    errors.append(CNIError(f'plugin {plugin.type} does not support config version "{wanted}"', code=1))
            except CNIError as err:
                errors.append(err)
            caps.update((cap, None) for cap, on in plugin.capabilities.items() if on)
        if errors:
            raise MultiError(errors)
        return list(caps)
