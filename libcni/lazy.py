"""Stand-in modules that load the real stdlib module only when something uses it.

Every plugin call is a fresh process. Some stdlib modules are imported by libraries at module level
but used only on error paths (`inspect` by dataclasses, `logging` and `traceback` by pyroute2):
registering a stand-in in `sys.modules` first makes the import free, and the first attribute read
loads the real module, so behaviour is unchanged. (importlib.util.LazyLoader does not help here: on
3.11 `import x` reads `x.__spec__`, which would trigger the load at once.)
"""

from __future__ import annotations

import sys
import types


class DeferredModule(types.ModuleType):
    """Stands in for a module until an attribute is read, then becomes a view of the real one."""

    def __getattr__(self, attr: str) -> object:
        return getattr(self.load(), attr)

    def load(self) -> types.ModuleType:
        """Import the real module (once) and copy its names here; return it."""
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        __import__(name)  # not importlib.import_module: the importlib package loads warnings (~0.3 ms)
        real = sys.modules[name]
        self.__dict__.update(real.__dict__)
        return real


def defer(name: str, stand_in: DeferredModule | None = None) -> None:
    """Register a stand-in for `name` unless the real module is already loaded."""
    if name not in sys.modules:
        module = stand_in if stand_in is not None else DeferredModule(name)
        module.__spec__ = None
        sys.modules[name] = module


class _DeferredLogger:
    """What `logging.getLogger(name)` returns before logging is loaded: loads it on first use."""

    def __init__(self, name: str | None) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> object:
        logging = sys.modules.get("logging") or __import__("logging")
        if isinstance(logging, DeferredModule):
            logging = logging.load()
        return getattr(logging.getLogger(self._name), attr)


class DeferredLogging(DeferredModule):
    """`logging` (with string, traceback, threading... about 2-3 ms) for libraries that only call
    `getLogger()` at import time; the first real use of a logger or of any other name loads it."""

    @staticmethod
    def getLogger(name: str | None = None) -> object:  # noqa: N802 - logging's own name
        real = sys.modules.get("logging")
        if real is not None and not isinstance(real, DeferredModule):
            return real.getLogger(name)
        return _DeferredLogger(name)


def defer_error_path_modules() -> None:
    """Stand-ins for the stdlib modules the plugin path imports but uses only on failures (or, for
    `copy`, never: dataclasses imports it for asdict/astuple, and with it weakref, ~0.6 ms)."""
    defer("inspect")
    defer("copy")
    defer("traceback")
    defer("logging", DeferredLogging("logging"))
