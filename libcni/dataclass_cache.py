"""Precompiled `@dataclass` methods for the built bundle.

`@dataclass` writes the source of `__init__`, `__repr__`, `__eq__`, `__hash__`, `__setattr__`... of each
class and compiles it with `exec()` at import time: ~0.4 ms per frozen class, 5-7 ms of every bridge or
portmap call (bench/README.md), and the same work in every process. The build compiles those sources
once (`record`, run by pycni.spec with the bundle's own interpreter) into a marshal file next to this
module; `install` makes the dataclasses module's `exec()` look each source up there and run the stored
code object. Each code object is stored marshalled on its own and unmarshalled only when its class is
built: a call builds a dozen of the ~120 classes, and unmarshalling them all cost ~0.3 ms. Same source
and same compile flags give the same functions; a source that is not in the file (or no file at all, as
when running from the source tree) is compiled as before.
"""

from __future__ import annotations

import marshal
import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without loading typing at run time
if TYPE_CHECKING:
    from types import CodeType

    Source = str | bytes | CodeType

FILE_NAME = "dataclass-methods.marshal"
DEFAULT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), FILE_NAME)


def _compile(source: str) -> CodeType:
    # dont_inherit: exactly the flags exec() uses inside dataclasses.py (no __future__ imports there);
    # inheriting this module's `annotations` would turn the generated annotations into strings.
    return compile(source, "<string>", "exec", dont_inherit=True)


def install(path: str = DEFAULT_PATH) -> bool:
    """Serve dataclasses' generated sources from the file at `path`; False when there is none (or stale)."""
    try:
        with open(path, "rb") as f:
            version, codes = marshal.loads(f.read())  # load(f) would read the file in tiny pieces
    except (OSError, EOFError, ValueError, TypeError):
        return False
    if version != sys.hexversion or not isinstance(codes, dict):
        return False
    import dataclasses

    def cached_exec(source: Source, globals: dict | None = None, locals: dict | None = None, /) -> None:  # noqa: A002
        blob = codes.get(source) if isinstance(source, str) else None
        exec(source if blob is None else marshal.loads(blob), globals, locals)  # noqa: S102 - what dataclasses does

    dataclasses.exec = cached_exec  # type: ignore[attr-defined]  # shadows the builtin in that module only
    return True


def record(modules: list[str], path: str) -> int:
    """Import `modules` and write every source dataclasses compiles on the way to `path`; return the count."""
    import dataclasses
    import importlib

    codes: dict[str, bytes] = {}

    def recording_exec(source: Source, globals: dict | None = None, locals: dict | None = None, /) -> None:  # noqa: A002
        if isinstance(source, str):
            codes[source] = marshal.dumps(_compile(source))
        exec(source, globals, locals)  # noqa: S102

    dataclasses.exec = recording_exec  # type: ignore[attr-defined]
    for name in modules:
        importlib.import_module(name)
    with open(path, "wb") as f:
        marshal.dump((sys.hexversion, codes), f)
    return len(codes)


def package_modules(root: str, packages: tuple[str, ...] = ("libcni", "cni")) -> list[str]:
    """Every module under `packages` in the tree at `root` (cni/host-local-ipam keeps its hyphen)."""
    found = []
    for package in packages:
        for folder, dirs, files in os.walk(os.path.join(root, package)):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            dotted = os.path.relpath(folder, root).replace(os.sep, ".")
            for f in sorted(files):
                if f.endswith(".py"):
                    found.append(dotted if f == "__init__.py" else f"{dotted}.{f[:-3]}")
    return found


if __name__ == "__main__":  # python -m libcni.dataclass_cache OUT: what pycni.spec runs at build time
    tree = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    count = record(package_modules(tree), sys.argv[1])
    print(f"{count} dataclass method sources precompiled into {sys.argv[1]}")
