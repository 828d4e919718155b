"""Fake CNI plugins for the client tests: small Python scripts that record every call and answer as told.

Each call appends one JSON line to `<dir>/calls.jsonl`: the plugin name, argv, the CNI_* environment and
the parsed stdin. What a fake answers is driven by its own plugin object (key `fake`):
  {"fail": {"ADD": {"code": 7, "msg": "...", "details": "..."}}}  fail that verb with that error
  {"result": {...}}                                              print this ADD result verbatim
VERSION never sees the plugin object (its stdin is fixed), so `<dir>/<name>.versions` (one JSON
list) sets its supportedVersions. Without `result`, ADD answers the prevResult with one more interface
named after the plugin (or a fresh result in the config's version), so tests see each plugin's place.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

FAKE_SOURCE = r"""
import json, os, sys
name = os.path.basename(sys.argv[0])
command = os.environ.get("CNI_COMMAND", "")
raw = sys.stdin.read()
try:
    conf = json.loads(raw)
except ValueError:
    conf = raw
env = {k: v for k, v in os.environ.items() if k.startswith("CNI_") or k == "FAKE_MARK"}
with open(os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])), "calls.jsonl"), "a") as log:
    log.write(json.dumps({"plugin": name, "argv": sys.argv, "env": env, "stdin": conf}) + "\n")
fake = conf.get("fake", {}) if isinstance(conf, dict) else {}
if command == "VERSION":
    try:
        versions = json.load(open(sys.argv[0] + ".versions"))
    except OSError:
        versions = ["0.3.1", "0.4.0", "1.0.0", "1.1.0"]
    print(json.dumps({"cniVersion": "1.1.0", "supportedVersions": versions}))
    sys.exit(0)
failure = fake.get("fail", {}).get(command)
if failure:
    print(json.dumps(failure))
    sys.exit(1)
if command == "ADD":
    if "result" in fake:
        print(json.dumps(fake["result"]))
    else:
        version = conf.get("cniVersion") or "0.1.0"
        first = {"cniVersion": version, "ips": [{"address": "10.0.0.2/24", "gateway": "10.0.0.1"}]}
        prev = conf.get("prevResult") or first
        prev.setdefault("interfaces", []).append({"name": name})
        prev["cniVersion"] = version
        print(json.dumps(prev))
"""


def make_plugins(bin_dir: Path, *names: str) -> Path:
    """Write fake plugins called `names` into `bin_dir`; return the calls log path."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = bin_dir / name
        path.write_text(f"#!{sys.executable} -I\n{FAKE_SOURCE}")
        path.chmod(0o755)
    return bin_dir / "calls.jsonl"


def read_calls(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def clear_calls(log: Path) -> None:
    if log.exists():
        os.unlink(log)
