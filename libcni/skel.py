"""The plugin runtime: env and stdin, version negotiation, dispatch to handlers, and errors.

Every plugin's entry point is `plugin_main(add=..., delete=..., ...)`. This module owns the process:
it validates the CNI_* environment and the config in the same order as Go's pkg/skel (so the same
bad input gets the same code), answers VERSION without reading stdin, applies the version gates,
prints the handler's result converted to the config's cniVersion, and turns any exception into one
CNI error JSON on stdout with exit status 1. Nothing else in a plugin prints or exits.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from libcni import log
from libcni import version as ver
from libcni.errors import (
    CNIError,
    DecodingFailure,
    IncompatibleVersion,
    InternalError,
    InvalidConfig,
    InvalidEnv,
    InvalidNetNS,
    IOFailure,
    UnknownContainer,
)

# Go's ^...$ anchors the whole text; Python's `$` would also accept a trailing newline, so fullmatch.
NAME_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.\-]*")

# Which CNI_* variables each verb requires (Go skel, including its CNI_PATH rule).
_REQUIRED = {
    "CNI_COMMAND": ("ADD", "CHECK", "DEL", "GC", "STATUS", "VERSION"),
    "CNI_CONTAINERID": ("ADD", "CHECK", "DEL"),
    "CNI_NETNS": ("ADD", "CHECK"),
    "CNI_IFNAME": ("ADD", "CHECK", "DEL"),
    "CNI_PATH": ("ADD", "CHECK", "DEL", "GC", "STATUS"),
}

TYPE_CHECKING = False  # typing.TYPE_CHECKING without loading typing at run time (~2 ms per call)
if TYPE_CHECKING:
    from typing import Any

    Handler = Callable[["CmdArgs"], Any]


@dataclass
class CmdArgs:
    """One invocation: the CNI_* environment plus the parsed config."""

    command: str
    container_id: str
    netns: str
    ifname: str
    args: str  # raw CNI_ARGS
    path: list[str]
    stdin: bytes
    config: dict = field(default_factory=dict)

    @property
    def cni_version(self) -> str:
        return str(self.config.get("cniVersion") or "0.1.0")


def validate_container_id(container_id: str) -> None:
    if not container_id:
        raise UnknownContainer("missing containerID")
    if not NAME_RE.fullmatch(container_id):
        raise InvalidEnv("invalid characters in containerID", container_id)


def validate_ifname(ifname: str) -> None:
    if not ifname:
        raise InvalidEnv("interface name is empty")
    if len(ifname.encode()) > 15:
        raise InvalidEnv("interface name is too long", "interface name should be less than 16 characters")
    if ifname in (".", ".."):
        raise InvalidEnv("interface name is . or ..")
    if any(c in "/:" or c.isspace() for c in ifname):
        raise InvalidEnv("interface name contains / or : or whitespace characters")


def validate_network_name(name: Any) -> None:
    if not name:
        raise InvalidConfig("missing network name")
    if not NAME_RE.fullmatch(name):
        raise InvalidConfig("invalid characters found in network name", name)


def _read_env(environ: dict[str, str]) -> tuple[str, dict[str, str]]:
    command = environ.get("CNI_COMMAND", "")
    values = {name: environ.get(name, "") for name in _REQUIRED}
    missing = [
        name for name, verbs in _REQUIRED.items() if not values[name] and (command in verbs or name == "CNI_COMMAND")
    ]
    if missing:
        raise InvalidEnv(f"required env variables [{','.join(missing)}] missing")
    return command, values


def _parse_config(stdin: bytes) -> dict:
    try:
        config = json.loads(stdin)
    except ValueError as err:
        raise DecodingFailure(f"error unmarshall network config: {err}") from None
    if not isinstance(config, dict):
        raise DecodingFailure("error unmarshall network config: the config must be a JSON object")
    name = config.get("name")
    if name is not None and not isinstance(name, str):
        raise DecodingFailure("error unmarshall network config: name must be a string")
    validate_network_name(name)
    return config


def _config_version(config: dict) -> str:
    value = config.get("cniVersion", "")
    if not isinstance(value, str):
        raise DecodingFailure("error unmarshall network config: cniVersion must be a string")
    return value or "0.1.0"


def _check_exact(version: str, supported: tuple[str, ...]) -> None:
    if version not in supported:
        quoted = " ".join(f'"{v}"' for v in supported)
        raise IncompatibleVersion("incompatible CNI versions", f'config is "{version}", plugin supports [{quoted}]')


def _check_at_least(command: str, version: str, minimum: str, supported: tuple[str, ...]) -> None:
    if not ver.at_least(version, minimum):
        raise IncompatibleVersion(f"config version does not allow {command}")
    if not any(ver.at_least(v, version) for v in supported):
        raise IncompatibleVersion(f"plugin version does not allow {command}")
    _check_exact(version, supported)


def is_own_netns(path: str) -> bool:
    """True when `path` is the namespace this process already runs in (a reused /proc/<pid> path)."""
    try:
        own, target = os.stat("/proc/self/ns/net"), os.stat(path)
    except OSError:
        return False
    return (own.st_dev, own.st_ino) == (target.st_dev, target.st_ino)


def _netns_guard(args: CmdArgs, environ: dict[str, str]) -> None:
    override = environ.get("CNI_NETNS_OVERRIDE", "")
    if override.lower() == "true" or override == "1" or not args.netns:
        return
    if is_own_netns(args.netns):
        raise InvalidNetNS("plugin's netns and netns from CNI_NETNS should not be the same")


def print_json(doc: dict) -> None:
    sys.stdout.write(json.dumps(doc, indent=4))
    sys.stdout.flush()


def _about(about: str, supported: tuple[str, ...]) -> None:
    sys.stderr.write(f"{about}\nCNI protocol versions supported: {', '.join(supported)}\n")


def dispatch(
    environ: dict[str, str],
    stdin_reader: Callable[[], bytes],
    handlers: dict[str, Handler | None],
    supported: tuple[str, ...],
    seen: dict[str, str] | None = None,
) -> dict | None:
    """Validate, gate and run one verb; return the JSON document to print, if any."""
    command, env = _read_env(environ)
    if command == "VERSION":
        # Stdin is not read for VERSION, as in Go: a runtime may send anything or nothing.
        return {"cniVersion": ver.CURRENT, "supportedVersions": list(supported)}
    try:
        stdin = stdin_reader()
    except OSError as err:
        raise IOFailure(f"error reading from stdin: {err}") from None
    config = _parse_config(stdin)
    if command in ("ADD", "CHECK", "DEL"):
        validate_container_id(env["CNI_CONTAINERID"])
        validate_ifname(env["CNI_IFNAME"])
    if command not in handlers:
        raise InvalidEnv(f"unknown CNI_COMMAND: {command}")
    args = CmdArgs(
        command=command,
        container_id=env["CNI_CONTAINERID"],
        netns=env["CNI_NETNS"],
        ifname=env["CNI_IFNAME"],
        args=environ.get("CNI_ARGS", ""),
        path=[p for p in env["CNI_PATH"].split(":") if p],
        stdin=stdin,
        config=config,
    )
    version = _config_version(config)
    if seen is not None:
        seen["version"] = version
    if command == "CHECK":
        _check_at_least("CHECK", version, "0.4.0", supported)
    elif command in ("GC", "STATUS"):
        _check_at_least(command, version, "1.1.0", supported)
    else:
        _check_exact(version, supported)
    log.configure(
        str(config.get("type") or "pycni"), str(config.get("logFile") or ""), str(config.get("logLevel") or "")
    )
    if command in ("ADD", "DEL"):
        _netns_guard(args, environ)
    handler = handlers[command]
    if handler is None:
        return None  # GC / STATUS with nothing to do: success, as skel does.
    result = handler(args)
    if command != "ADD":
        return None
    if result is None:
        raise InternalError(f"{config.get('type', 'plugin')} ADD produced no result")
    return result.to_json(version)


def _unexpected(exc: BaseException, command: str) -> CNIError:
    """Turn a bug or an untyped failure into code 999 with a message a person can act on."""
    import traceback

    traceback.print_exc(file=sys.stderr)
    text = str(exc) or type(exc).__name__
    if not isinstance(exc, OSError):
        text = f"{type(exc).__name__}: {text}"
    return InternalError(text, f"unexpected failure during {command or 'the call'}; the traceback is on stderr")


def plugin_main(
    *,
    add: Handler,
    delete: Handler,
    check: Handler | None = None,
    gc: Handler | None = None,
    status: Handler | None = None,
    about: str = "",
    supported: tuple[str, ...] = ver.ALL,
) -> None:
    """Run one CNI call for the process and exit."""
    environ = dict(os.environ)
    command = environ.get("CNI_COMMAND", "")
    handlers = {"ADD": add, "DEL": delete, "CHECK": check, "GC": gc, "STATUS": status}
    if not command and about:
        _about(about, supported)
        sys.exit(0)
    error: CNIError
    seen: dict[str, str] = {}
    try:
        doc = dispatch(environ, sys.stdin.buffer.read, handlers, supported, seen)
    except CNIError as err:
        error = err
    except Exception as exc:  # noqa: BLE001 - the process boundary: everything becomes a CNI error
        error = _unexpected(exc, command)
    else:
        if doc is not None:
            print_json(doc)
        sys.exit(0)
    log.error(str(error))
    # The error carries the config's version when it was readable (spec: recommended, not required).
    version = seen.get("version", "")
    print_json(error.to_json(version if version in supported else ver.CURRENT))
    sys.exit(1)
