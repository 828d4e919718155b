"""Load pyroute2's netlink message classes without running `pyroute2/__init__.py`.

The package `__init__` imports all of pyroute2 (NDB, IPDB, nftables, asyncio, ssl...: 250-300 ms per
process). The message codecs we need live in `pyroute2.netlink.rtnl.*` and do not need any of that.
We register an empty package object named `pyroute2` whose `__path__` points at the real package
directory, so submodule imports resolve normally but the package body never runs. This relies on
pyroute2's internal layout; tests/unit/test_import_budget.py fails if an upgrade breaks it.
"""

from __future__ import annotations

import sys
import types


def _package_dir() -> str:
    import importlib.machinery

    spec = importlib.machinery.PathFinder.find_spec("pyroute2")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("pyroute2 is not installed")
    return list(spec.submodule_search_locations)[0]


def install_stub() -> None:
    """Make `import pyroute2.X` skip the package body. Harmless if pyroute2 is already imported."""
    if "pyroute2" in sys.modules:
        return
    stub = types.ModuleType("pyroute2")
    stub.__path__ = [_package_dir()]  # type: ignore[attr-defined]
    stub.__file__ = None
    sys.modules["pyroute2"] = stub
