"""VERSION is answered by cni/multicall.py before any plugin module loads: it must stay exactly skel's answer.

The fast path is only right while every plugin speaks libcni.version.ALL, so each entry point's
`plugin_main` call is checked here, and the printed bytes are compared with what skel prints.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cni import multicall
from libcni import skel
from libcni import version as ver

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = [name for name, module in multicall.ENTRY_POINTS.items() if module != "libcni.cnitool"]


def skel_version_output() -> str:
    doc = skel.dispatch({"CNI_COMMAND": "VERSION"}, lambda: b"", {}, ver.ALL)
    assert doc is not None
    return json.dumps(doc, indent=4)


@pytest.mark.parametrize("plugin", PLUGINS)
def test_every_plugin_supports_all_versions(plugin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict] = []
    monkeypatch.setattr(skel, "plugin_main", lambda **kwargs: calls.append(kwargs))
    importlib.import_module(multicall.ENTRY_POINTS[plugin]).main()
    assert len(calls) == 1
    assert calls[0].get("supported", ver.ALL) == ver.ALL, f"{plugin}: the VERSION fast path would lie"


def test_fast_reply_is_skels_output() -> None:
    assert multicall.version_reply() == skel_version_output()


def _run(plugin: str, env: dict[str, str], stdin: bytes = b"", site: bool = False) -> subprocess.CompletedProcess:
    code = f"import sys; sys.argv[0] = {plugin!r}; sys.path.insert(0, {str(ROOT)!r}); "
    code += "from cni.multicall import main; main()"
    argv = [sys.executable, "-I", *([] if site else ["-S"]), "-X", "importtime", "-c", code]
    return subprocess.run(argv, input=stdin, capture_output=True, env=env, timeout=60)


@pytest.mark.parametrize("plugin", PLUGINS)
def test_version_loads_no_plugin_code(plugin: str) -> None:
    done = _run(plugin, {"CNI_COMMAND": "VERSION"}, b"not json at all")
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert done.stdout.decode() == skel_version_output()
    imported = {line.split("|")[-1].strip() for line in done.stderr.decode().splitlines() if "|" in line}
    heavy = {m for m in imported if m in {"json", "re", "dataclasses", "libcni.skel"} or m.startswith("cni.")}
    assert heavy == {"cni.multicall"}, sorted(heavy)


def test_other_verbs_and_cnitool_take_the_normal_path() -> None:
    # An unknown verb still goes through skel (stdin read, config validated): error JSON, exit 1.
    done = _run("loopback", {"CNI_COMMAND": "VERSIONX"}, b"{}")
    assert done.returncode == 1 and json.loads(done.stdout)["code"] in (4, 7), done.stdout
    # cnitool is a person's CLI: CNI_COMMAND in its environment means nothing to it.
    done = _run("cnitool", {"CNI_COMMAND": "VERSION"}, site=True)
    assert b"supportedVersions" not in done.stdout and b"Usage: cnitool" in done.stderr, done.stderr[-2000:]
