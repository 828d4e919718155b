"""The one executable behind every pycni plugin: it runs the plugin named by how it was called.

`dist/bin/bridge`, `dist/bin/host-local`, ... are links to one PyInstaller bundle; the name in
argv[0] (the CNI `type`) picks the entry module. Only that module is imported, so a call pays for
what it uses and nothing else.
"""

from __future__ import annotations

import gc
import os
import sys

ENTRY_POINTS = {
    "loopback": "cni.loopback.plugin",
    "bridge": "cni.bridge.plugin",
    "host-local": "cni.host-local-ipam.plugin",
    "portmap": "cni.portmap.plugin",
    "cnitool": "libcni.cnitool",
}


def exit_now(code: object) -> None:
    """Exit as `sys.exit(code)` would, but skip the interpreter's teardown.

    Tearing down a few hundred modules and their objects costs a few ms per call and a plugin has
    nothing left to release: its files are closed by `with` blocks, its netlink sockets by the
    kernel. Only stdout and stderr need flushing (a failed flush exits 120, as Python does).
    """
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        sys.stderr.write(f"{code}\n")
        status = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            status = 120
    os._exit(status)


def version_reply() -> str:
    """What skel prints for VERSION (json.dumps(..., indent=4) of the same document), built without json.

    Every pycni plugin speaks every version in libcni.version.ALL (tests/unit/test_multicall_version.py
    holds each entry point and the bytes to that), and runtimes call VERSION to validate a conflist, so
    the answer comes before any plugin module, json or dataclasses is imported (~16 ms per call).
    """
    from libcni.version import ALL, CURRENT

    versions = ",\n".join(f'        "{v}"' for v in ALL)
    return f'{{\n    "cniVersion": "{CURRENT}",\n    "supportedVersions": [\n{versions}\n    ]\n}}'


def main() -> None:
    name = os.path.basename(sys.argv[0])
    module_name = ENTRY_POINTS.get(name)
    if module_name is None:
        sys.stderr.write(f"pycni: called as {name!r}; link this executable as one of: {', '.join(ENTRY_POINTS)}\n")
        sys.exit(2)
    if module_name != "libcni.cnitool" and os.environ.get("CNI_COMMAND") == "VERSION":
        sys.stdout.write(version_reply())  # skel does not read stdin for VERSION either
        exit_now(0)
    from libcni import dataclass_cache, lazy

    lazy.defer_error_path_modules()  # first: dataclasses imports inspect
    dataclass_cache.install()  # the bundle's precompiled @dataclass methods (no-op from source)
    if module_name == "libcni.cnitool":  # a person's CLI, not a per-pod call: keep the normal lifecycle
        __import__(module_name, fromlist=["main"]).main()
        return
    # A plugin call lives a few ms and allocates little: the cyclic GC would only run passes over
    # module objects during import (measured: bench/README.md). Reference counting still frees memory.
    gc.disable()
    try:
        __import__(module_name, fromlist=["main"]).main()
    except SystemExit as done:
        exit_now(done.code)
    exit_now(0)


if __name__ == "__main__":
    main()
