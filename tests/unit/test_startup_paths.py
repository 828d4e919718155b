"""Stdlib modules that paths without pyroute2 must not load (each costs ~2 ms per call, measured in
bench/README.md): `typing` is for mypy only in libcni (`TYPE_CHECKING = False` guards); pyroute2 loads
it on the netlink paths anyway, so only config errors, host-local and VERSION are pinned here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.test_import_budget import BAD_CONFIGS, PLUGINS, _cni_env, run_once

TYPING_FREE = {"typing"}


@pytest.mark.parametrize("plugin", PLUGINS)
def test_config_errors_load_no_typing(plugin: str) -> None:
    conf = {"cniVersion": "1.0.0", "name": "svbudget", "type": plugin, **BAD_CONFIGS[plugin]}
    _, modules, rc, out = run_once(plugin, _cni_env("ADD"), json.dumps(conf).encode())
    assert rc != 0 and isinstance(json.loads(out).get("code"), int), out
    assert not modules & TYPING_FREE, sorted(modules & TYPING_FREE)


def test_host_local_add_and_del_load_no_typing(tmp_path: Path) -> None:
    ipam = {"type": "host-local", "ranges": [[{"subnet": "10.214.0.0/24"}]], "dataDir": str(tmp_path)}
    conf = json.dumps({"cniVersion": "1.0.0", "name": "svbudget", "type": "host-local", "ipam": ipam}).encode()
    for command in ("ADD", "DEL"):  # host-local never enters the netns: a missing path is fine
        _, modules, rc, out = run_once("host-local", _cni_env(command), conf)
        assert rc == 0 and (command == "DEL" or json.loads(out)["ips"]), out
        assert not modules & TYPING_FREE, (command, sorted(modules & TYPING_FREE))
