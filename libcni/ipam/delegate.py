"""Delegation: find a plugin in CNI_PATH and exec it the way the spec says (same env, full stdin).

Used by main plugins to call their IPAM plugin. Only CNI_COMMAND is overridden; the delegate's
stderr is forwarded to ours; its error JSON becomes our CNIError with the same code.
"""

from __future__ import annotations

import errno
import json
import os
import sys
import time

from libcni import proc
from libcni.errors import CNIError, DecodingFailure, InvalidConfig
from libcni.types import Result

_TEXT_FILE_BUSY_RETRIES = 5


def find_in_path(plugin: str, paths: list[str]) -> str:
    """The first regular file named `plugin` in `paths` (symlinks followed), as Go's FindInPath."""
    if not plugin:
        raise InvalidConfig("no plugin name provided")
    if "/" in plugin:
        raise InvalidConfig(f'invalid plugin name: "{plugin}"')
    if not paths:
        raise InvalidConfig("no paths provided")
    for directory in paths:
        candidate = os.path.join(directory, plugin)
        try:
            if os.path.isfile(candidate):
                return candidate
        except OSError:
            continue
    raise CNIError(f'failed to find plugin "{plugin}" in path [{" ".join(paths)}]')


def exec_plugin(path: str, stdin: bytes, env: dict[str, str]) -> proc.Completed:
    """Exec a plugin binary, retrying while it is "text file busy" (being replaced), as Go's invoke does."""
    for attempt in range(_TEXT_FILE_BUSY_RETRIES + 1):
        try:
            return proc.run([path], stdin, env)
        except OSError as err:
            if err.errno != errno.ETXTBSY or attempt == _TEXT_FILE_BUSY_RETRIES:
                raise CNIError(f'failed to exec plugin "{path}"', str(err)) from None
            time.sleep(1)
    raise AssertionError("unreachable")


def error_from_output(completed: proc.Completed, plugin: str) -> CNIError:
    """The CNIError a failed plugin reported on stdout, or a description when it reported nothing."""
    out = completed.stdout.strip()
    if out:
        try:
            doc = json.loads(out)
            return CNIError(str(doc.get("msg", "")), str(doc.get("details", "") or ""), code=int(doc.get("code", 0)))
        except (ValueError, AttributeError, TypeError):
            return CNIError(
                f'netplugin failed but error parsing its diagnostic message "{out.decode(errors="replace")}"', code=0
            )
    err_text = completed.stderr.decode(errors="replace").strip()
    status = f"exit status {completed.returncode}"
    if err_text:
        return CNIError(f'netplugin failed: "{err_text}": {status}', code=0)
    return CNIError(f"netplugin {plugin} failed with no error message: {status}", code=0)


def delegate(command: str, plugin: str, stdin: bytes, paths: list[str], config_version: str) -> Result | None:
    """Run `plugin` with CNI_COMMAND=`command`; return its parsed result for ADD, None otherwise."""
    path = find_in_path(plugin, paths)
    env = dict(os.environ)
    env["CNI_COMMAND"] = command
    completed = exec_plugin(path, stdin, env)
    if completed.stderr:
        sys.stderr.buffer.write(completed.stderr)
        sys.stderr.flush()
    if completed.returncode != 0:
        raise error_from_output(completed, plugin)
    if command != "ADD":
        return None
    try:
        doc = json.loads(completed.stdout)
    except ValueError as err:
        raise DecodingFailure(f"failed to parse the result of IPAM plugin {plugin}", str(err)) from None
    return Result.from_json(doc, config_version)
