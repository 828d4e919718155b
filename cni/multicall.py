"""The one executable behind every pycni plugin: it runs the plugin named by how it was called.

`dist/bin/bridge`, `dist/bin/host-local`, ... are links to one PyInstaller bundle; the name in
argv[0] (the CNI `type`) picks the entry module. Only that module is imported, so a call pays for
what it uses and nothing else.
"""

from __future__ import annotations

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


def main() -> None:
    defer_inspect()
    name = os.path.basename(sys.argv[0])
    module_name = ENTRY_POINTS.get(name)
    if module_name is None:
        sys.stderr.write(f"pycni: called as {name!r}; link this executable as one of: {', '.join(ENTRY_POINTS)}\n")
        sys.exit(2)
    module = __import__(module_name, fromlist=["main"])
    module.main()


if __name__ == "__main__":
    main()
