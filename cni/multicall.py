"""The one executable behind every pycni plugin: it runs the plugin named by how it was called.

`dist/bin/bridge`, `dist/bin/host-local`, ... are links to one PyInstaller bundle; the name in
argv[0] (the CNI `type`) picks the entry module. Only that module is imported, so a call pays for
what it uses and nothing else.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
import types

ENTRY_POINTS = {
    "loopback": "cni.loopback.plugin",
    "bridge": "cni.bridge.plugin",
    "host-local": "cni.host-local-ipam.plugin",
    "portmap": "cni.portmap.plugin",
    "cnitool": "libcni.cnitool",
}


class _DeferredModule(types.ModuleType):
    """Stands in for a module until an attribute is read, then becomes a view of the real one."""

    def __getattr__(self, attr: str) -> object:
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        real = importlib.import_module(name)
        self.__dict__.update(real.__dict__)
        return getattr(real, attr)


def defer_inspect() -> None:
    """Load `inspect` only when something uses it.

    `dataclasses` imports `inspect` (which pulls ast, dis, tokenize, linecache: about 6 ms per call)
    and uses it only to write a docstring for a dataclass that has none. With a stand-in module, a
    call whose dataclasses all have docstrings never pays for it; the first attribute read loads the
    real module, so behaviour is unchanged. (importlib.util.LazyLoader does not help here: on 3.11
    `import inspect` reads `__spec__`, which would trigger the load at once.)
    """
    if "inspect" not in sys.modules:
        stand_in = _DeferredModule("inspect")
        stand_in.__spec__ = None
        sys.modules["inspect"] = stand_in


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


def main() -> None:
    defer_inspect()
    name = os.path.basename(sys.argv[0])
    module_name = ENTRY_POINTS.get(name)
    if module_name is None:
        sys.stderr.write(f"pycni: called as {name!r}; link this executable as one of: {', '.join(ENTRY_POINTS)}\n")
        sys.exit(2)
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
