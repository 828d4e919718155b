"""cnitool: wire a network namespace by hand with a network from the config directory.

Command line and environment of the Go cnitool (`cnitool add|del|check|gc|status <net> <netns>`,
NETCONFPATH, CNI_PATH, CNI_ARGS, CAP_ARGS, CNI_IFNAME, container ID derived from the netns path),
plus `version`, `list` and `inspect` for a person at a terminal. Errors name the plugin that failed
and its CNI code; `--json` prints machine-readable output instead. Exit status: 0 ok, 1 any error.
This is the only module that imports click.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from libcni import version as ver
from libcni.client import cache, gojson, inspect
from libcni.client.api import CNIConfig, MultiError, PluginError, RuntimeConf, result_json
from libcni.client.conf import DEFAULT_CONF_DIR, NetworkConfigList, load_network_conf
from libcni.errors import CNIError

CODE_NAMES = {
    0: "unknown",
    1: "incompatible CNI version",
    2: "unsupported field",
    3: "unknown container",
    4: "invalid environment variables",
    5: "I/O failure",
    6: "decoding failure",
    7: "invalid network config",
    8: "invalid network namespace",
    11: "try again later",
    50: "plugin not available",
    51: "plugin not available, existing containers may lose connectivity",
    999: "internal error",
}


class UsageError(CNIError):
    """Bad input to cnitool itself (environment or arguments), not a plugin failure."""


def container_id_for(netns_path: str) -> str:
    """Go cnitool's rule: `cnitool-` + hex of the first 10 bytes of SHA-512(absolute netns path)."""
    return "cnitool-" + hashlib.sha512(netns_path.encode()).digest()[:10].hex()


def parse_cni_args(raw: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in raw.split(";") if raw else ():
        kv = item.split("=")
        if len(kv) != 2 or not kv[0] or not kv[1]:
            raise UsageError(f'invalid CNI_ARGS pair "{item}"')
        pairs.append((kv[0], kv[1]))
    return tuple(pairs)


def parse_cap_args(raw: str) -> dict:
    if not raw:
        return {}
    try:
        doc = json.loads(raw)
    except ValueError as err:
        raise UsageError(f"invalid CAP_ARGS: {err}") from None
    if not isinstance(doc, dict):
        raise UsageError("invalid CAP_ARGS: must be a JSON object")
    return doc


def _conf_dir() -> str:
    return os.environ.get("NETCONFPATH") or DEFAULT_CONF_DIR


def _client(cache_dir: str) -> CNIConfig:
    paths = [p for p in os.environ.get("CNI_PATH", "").split(os.pathsep) if p]
    return CNIConfig(paths, cache_dir=cache_dir)


def _runtime(netns: str, ifname: str | None) -> RuntimeConf:
    netns = os.path.abspath(netns)
    return RuntimeConf(
        container_id=container_id_for(netns),
        netns=netns,
        ifname=ifname or os.environ.get("CNI_IFNAME") or "eth0",  # an empty CNI_IFNAME counts as unset
        args=parse_cni_args(os.environ.get("CNI_ARGS", "")),
        capability_args=parse_cap_args(os.environ.get("CAP_ARGS", "")),
    )


def _with_cached_args(client: CNIConfig, conflist: NetworkConfigList, rt: RuntimeConf) -> RuntimeConf:
    """DEL and CHECK need the ADD's capability args (portmap finds its rules by them): when CAP_ARGS or
    CNI_ARGS is not set at all, take the ones cached at ADD, as runtimes do with Go libcni."""
    if "CAP_ARGS" in os.environ and "CNI_ARGS" in os.environ:
        return rt
    raw = cache.read_raw(client.cache_dir, conflist.name, rt.container_id, rt.ifname)
    entry = cache.decode(raw) if raw else None
    if entry is None:
        return rt
    return RuntimeConf(
        container_id=rt.container_id,
        netns=rt.netns,
        ifname=rt.ifname,
        args=rt.args if "CNI_ARGS" in os.environ else entry.cni_args,
        capability_args=rt.capability_args if "CAP_ARGS" in os.environ else entry.capability_args,
    )


def error_doc(err: BaseException) -> dict:
    """The error for machines: the CNI code/msg/details plus the full text and the failing plugin."""
    if not isinstance(err, CNIError):
        err = CNIError(str(err), code=5 if isinstance(err, OSError) else 999)
    doc: dict[str, Any] = {"code": err.code, "msg": err.msg}
    if err.details:
        doc["details"] = err.details
    doc["error"] = str(err)
    if isinstance(err, PluginError):
        doc["plugin"] = {"type": err.plugin.type, "verb": err.verb}
        if err.plugin.name:
            doc["plugin"]["name"] = err.plugin.name
    return doc


def _report(err: BaseException, as_json: bool) -> None:
    doc = error_doc(err)
    if as_json:
        click.echo(json.dumps(doc, indent=4))
        return
    click.echo(f"cnitool: {doc['error']}", err=True)
    if isinstance(err, MultiError):
        return
    if "plugin" in doc:
        click.echo(f"  plugin: {doc['plugin']['type']} ({doc['plugin']['verb']})", err=True)
    code = doc["code"]
    click.echo(f"  code:   {code} ({CODE_NAMES.get(code, 'plugin-specific')})", err=True)


json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON (also errors).")
ifname_option = click.option(
    "-i", "--ifname", default=None, help="Interface name in the container [env CNI_IFNAME, default eth0]."
)


def command(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Every command: `--json`, errors reported (readable or JSON) with exit status 1."""

    @json_option
    @click.pass_context
    @functools.wraps(fn)
    def wrapper(ctx: click.Context, as_json: bool, **kwargs: Any) -> None:
        as_json = as_json or bool(ctx.obj and ctx.obj.get("json"))
        try:
            fn(as_json=as_json, cache_dir=ctx.obj["cache_dir"], **kwargs)
        except (CNIError, OSError) as err:
            _report(err, as_json)
            ctx.exit(1)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON (also errors).")
@click.option(
    "--cache-dir",
    envvar="CNI_CACHE_DIR",
    default=cache.DEFAULT_CACHE_DIR,
    show_default=True,
    help="Result cache directory (shared with Go runtimes) [env CNI_CACHE_DIR].",
)
@click.pass_context
def cli(ctx: click.Context, as_json: bool, cache_dir: str) -> None:
    """Add, check or delete a container's attachment to a CNI network, by hand.

    Networks come from NETCONFPATH (default /etc/cni/net.d), plugins from CNI_PATH. CNI_ARGS
    ("K=V;K2=V2") and CAP_ARGS (a JSON object of capability args, e.g. portMappings) are passed on.
    The container ID is derived from the netns path, as the Go cnitool does.
    """
    ctx.obj = {"json": as_json, "cache_dir": cache_dir}


def _net(name: str) -> NetworkConfigList:
    return load_network_conf(_conf_dir(), name)


def _attached(
    cache_dir: str, network: str, netns: str, ifname: str | None
) -> tuple[CNIConfig, NetworkConfigList, RuntimeConf]:
    """Client, network and runtime args of an existing attachment (DEL and CHECK)."""
    client, conflist = _client(cache_dir), _net(network)
    return client, conflist, _with_cached_args(client, conflist, _runtime(netns, ifname))


@cli.command()
@click.argument("network")
@click.argument("netns")
@ifname_option
@command
def add(network: str, netns: str, ifname: str | None, as_json: bool, cache_dir: str) -> None:
    """ADD the container in NETNS to NETWORK and print the result."""
    result = _client(cache_dir).add_network_list(_net(network), _runtime(netns, ifname))
    click.echo(gojson.marshal_indent(result_json(result)))


@cli.command(name="del")
@click.argument("network")
@click.argument("netns")
@ifname_option
@command
def delete(network: str, netns: str, ifname: str | None, as_json: bool, cache_dir: str) -> None:
    """DEL the container in NETNS from NETWORK (runs the plugins in reverse).

    Without CAP_ARGS / CNI_ARGS in the environment, the ones cached at ADD are used."""
    client, conflist, rt = _attached(cache_dir, network, netns, ifname)
    client.del_network_list(conflist, rt)


@cli.command()
@click.argument("network")
@click.argument("netns")
@ifname_option
@command
def check(network: str, netns: str, ifname: str | None, as_json: bool, cache_dir: str) -> None:
    """CHECK that the container in NETNS is still attached as the cached result says.

    Without CAP_ARGS / CNI_ARGS in the environment, the ones cached at ADD are used."""
    client, conflist, rt = _attached(cache_dir, network, netns, ifname)
    client.check_network_list(conflist, rt)


@cli.command()
@click.argument("network")
@click.argument("netns", required=False)
@command
def gc(network: str, netns: str | None, as_json: bool, cache_dir: str) -> None:
    """DEL every cached attachment of NETWORK, then GC its plugins (NETNS is accepted and ignored)."""
    _client(cache_dir).gc_network_list(_net(network), None)


@cli.command()
@click.argument("network")
@click.argument("netns", required=False)
@command
def status(network: str, netns: str | None, as_json: bool, cache_dir: str) -> None:
    """STATUS: exit 0 when every plugin of NETWORK can serve ADD (NETNS is accepted and ignored)."""
    _client(cache_dir).get_status_network_list(_net(network))
    if as_json:
        click.echo(json.dumps({"network": network, "ready": True}))


@cli.command()
@click.argument("network", required=False)
@command
def version(network: str | None, as_json: bool, cache_dir: str) -> None:
    """Show the spec versions each plugin supports (NETWORK's plugins, or all of CNI_PATH)."""
    conflist = _net(network) if network else None
    rows = inspect.versions(_client(cache_dir), conflist)
    if as_json:
        doc: dict = {"cnitool": ver.CURRENT, "plugins": rows}
        if conflist is not None:
            doc["network"] = {"name": conflist.name, "cniVersion": conflist.cni_version}
        click.echo(json.dumps(doc, indent=4))
        return
    click.echo(f"cnitool speaks CNI {', '.join(ver.ALL)}")
    if conflist is not None:
        click.echo(f"network {conflist.name}: cniVersion {conflist.cni_version or '(none: 0.1.0)'}")
    for row in rows:
        text = row.get("error") or ", ".join(row["supportedVersions"])
        supported = row.get("supportsNetworkVersion")
        mark = "" if supported is None else ("  ok" if supported else "  UNSUPPORTED")
        click.echo(f"  {row['type']:<14} {text}{mark}")
    if any(r.get("supportsNetworkVersion") is False or "error" in r for r in rows):
        raise CNIError("some plugins cannot run this network", code=1)


@cli.command(name="list")
@command
def list_cmd(as_json: bool, cache_dir: str) -> None:
    """List the networks found in NETCONFPATH and their plugins."""
    rows = inspect.networks(_conf_dir())
    if as_json:
        click.echo(json.dumps({"confDir": _conf_dir(), "networks": rows}, indent=4))
        return
    if not rows:
        click.echo(f"no network configurations in {_conf_dir()}")
    for row in rows:
        if "error" in row:
            click.echo(f"{os.path.basename(row['file'])}: ERROR {row['error']}")
            continue
        caps = f"  capabilities: {', '.join(row['capabilities'])}" if row["capabilities"] else ""
        click.echo(f"{row['name']} ({row['cniVersion'] or '0.1.0'}) {os.path.basename(row['file'])}")
        click.echo(f"  plugins: {' -> '.join(row['plugins'])}{caps}")


@cli.command(name="inspect")
@click.argument("network")
@click.argument("netns")
@ifname_option
@command
def inspect_cmd(network: str, netns: str, ifname: str | None, as_json: bool, cache_dir: str) -> None:
    """Show the cached result of an attachment and its live state (addresses, routes, counters)."""
    doc = inspect.attachment(_client(cache_dir), _net(network), _runtime(netns, ifname))
    click.echo(json.dumps(doc, indent=4) if as_json else inspect.format_attachment(doc))


def main(argv: list[str] | None = None) -> None:
    try:
        code = cli.main(args=argv, prog_name="cnitool", standalone_mode=False)
    except click.ClickException as err:
        err.show()
        code = 1
    except click.Abort:
        code = 1
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
