"""libcni.dataclass_cache: the bundle's precompiled @dataclass methods are the ones dataclasses compiles.

Every dataclass of libcni and cni is built twice in fresh interpreters, once as usual and once served
from a file written by `record`; each generated method must have the same code, defaults and
annotations, and every source must come from the file (no silent misses).
"""

from __future__ import annotations

import json
import marshal
import subprocess
import sys
from pathlib import Path

import pytest

from libcni import dataclass_cache

ROOT = Path(__file__).resolve().parents[2]

FINGERPRINT = """
import dataclasses, hashlib, json, marshal, sys
sys.path.insert(0, {root!r})
served = []
if {cache!r}:
    from libcni import dataclass_cache
    assert dataclass_cache.install({cache!r})
    cached_exec = dataclasses.exec
    def counting_exec(source, globals=None, locals=None, /):
        served.append(source in dataclass_cache_codes)
        cached_exec(source, globals, locals)
    dataclass_cache_codes = marshal.loads(open({cache!r}, "rb").read())[1]
    dataclasses.exec = counting_exec
from libcni.dataclass_cache import package_modules
import importlib
out = {{}}
for name in package_modules({root!r}):
    module = importlib.import_module(name)
    for cls in vars(module).values():
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__module__ == name):
            continue
        for attr in ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__"):
            fn = cls.__dict__.get(attr)
            code = getattr(fn, "__code__", None)
            if code is None:
                out[f"{{name}}.{{cls.__qualname__}}.{{attr}}"] = repr(fn)
                continue
            # marshal version 2: the full content without version 3's back-references, which depend on
            # live reference counts (a code object unmarshalled on its own shares fewer of them)
            parts = (marshal.dumps(code, 2), repr(fn.__defaults__), repr(fn.__kwdefaults__), repr(fn.__annotations__))
            digest = hashlib.sha256(repr(parts).encode()).hexdigest()
            out[f"{{name}}.{{cls.__qualname__}}.{{attr}}"] = digest
print(json.dumps({{"methods": out, "served": served}}))
"""


def fingerprint(cache: str) -> dict:
    code = FINGERPRINT.format(root=str(ROOT), cache=cache)
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return json.loads(done.stdout)


def test_cached_methods_are_identical(tmp_path: Path) -> None:
    path = tmp_path / dataclass_cache.FILE_NAME
    code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); sys.argv[1:] = [{str(path)!r}]; "
    code += "import runpy; runpy.run_module('libcni.dataclass_cache', run_name='__main__')"
    subprocess.run([sys.executable, "-I", "-c", code], check=True, capture_output=True, timeout=120)
    plain, cached = fingerprint(""), fingerprint(str(path))
    assert len(plain["methods"]) > 50, "too few dataclasses found: is package_modules broken?"
    assert cached["methods"] == plain["methods"]
    assert cached["served"] and all(cached["served"]), f"{cached['served'].count(False)} sources compiled anew"


def test_missing_stale_or_broken_file_changes_nothing(tmp_path: Path) -> None:
    assert not dataclass_cache.install(str(tmp_path / "absent"))
    stale = tmp_path / "stale"
    stale.write_bytes(marshal.dumps((sys.hexversion - 1, {})))
    assert not dataclass_cache.install(str(stale))
    broken = tmp_path / "broken"
    broken.write_bytes(b"\x00not marshal")
    assert not dataclass_cache.install(str(broken))


def test_package_modules_names_every_plugin_entry() -> None:
    modules = dataclass_cache.package_modules(str(ROOT))
    for entry in ("cni.bridge.plugin", "cni.host-local-ipam.plugin", "cni.portmap.config", "libcni.skel"):
        assert entry in modules


def test_built_bundle_ships_the_file() -> None:
    from tests.cni import PYCNI_BIN

    internal = (PYCNI_BIN / "bridge").resolve().parent / "_internal"
    if not internal.is_dir():
        pytest.skip(f"{PYCNI_BIN} is not a PyInstaller bundle")
    version, codes = marshal.loads((internal / "libcni" / dataclass_cache.FILE_NAME).read_bytes())
    assert version == sys.hexversion and len(codes) > 50  # built by this venv's interpreter
