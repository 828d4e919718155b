"""IPAM delegation: lookup in CNI_PATH, same env with CNI_COMMAND overridden, full stdin, errors passed on."""

from __future__ import annotations

import json
import os
import stat
import sys

import pytest

from libcni.errors import CNIError
from libcni.ipam.delegate import delegate, find_in_path


def fake_plugin(directory, name: str, body: str) -> str:
    path = directory / name
    path.write_text(f"#!{sys.executable}\nimport json, os, sys\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


RECORDER = """
data = sys.stdin.read()
env = os.environ
rec = {"argv": sys.argv, "command": env.get("CNI_COMMAND"), "cid": env.get("CNI_CONTAINERID"), "stdin": data}
open(os.environ["REC_FILE"], "w").write(json.dumps(rec))
sys.stderr.write("fake says hi\\n")
if rec["command"] == "ADD":
    print(json.dumps({"cniVersion": "1.0.0", "ips": [{"address": "10.5.0.7/24", "gateway": "10.5.0.1"}]}))
"""


def test_find_in_path(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    fake_plugin(tmp_path / "b", "ipam", "")
    (tmp_path / "a" / "ipam").mkdir()  # a directory of that name is skipped
    assert find_in_path("ipam", [str(tmp_path / "a"), str(tmp_path / "b")]) == str(tmp_path / "b" / "ipam")
    with pytest.raises(CNIError, match='failed to find plugin "nope" in path'):
        find_in_path("nope", [str(tmp_path)])
    with pytest.raises(CNIError, match="no plugin name provided"):
        find_in_path("", [str(tmp_path)])
    with pytest.raises(CNIError, match="invalid plugin name"):
        find_in_path("../x", [str(tmp_path)])


def test_delegate_add_passes_env_and_full_stdin(tmp_path, monkeypatch, capfd):
    fake_plugin(tmp_path, "fake-ipam", RECORDER)
    rec = tmp_path / "rec.json"
    monkeypatch.setenv("REC_FILE", str(rec))
    monkeypatch.setenv("CNI_COMMAND", "CHECK")
    monkeypatch.setenv("CNI_CONTAINERID", "cid-7")
    stdin = json.dumps({"cniVersion": "1.0.0", "name": "n", "type": "bridge", "ipam": {"type": "fake-ipam"}}).encode()
    result = delegate("ADD", "fake-ipam", stdin, [str(tmp_path)], "1.0.0")
    assert result is not None and [ip.address for ip in result.ips] == ["10.5.0.7/24"]
    seen = json.loads(rec.read_text())
    assert seen["command"] == "ADD" and seen["cid"] == "cid-7" and seen["stdin"] == stdin.decode()
    assert "fake says hi" in capfd.readouterr().err
    assert delegate("DEL", "fake-ipam", stdin, [str(tmp_path)], "1.0.0") is None
    assert json.loads(rec.read_text())["command"] == "DEL"


@pytest.mark.parametrize(
    "body,code,msg",
    [
        ('print(json.dumps({"code": 11, "msg": "busy", "details": "later"})); sys.exit(1)', 11, "busy"),
        ('print("not json"); sys.exit(1)', 0, 'netplugin failed but error parsing its diagnostic message "not json"'),
        ('sys.stderr.write("boom"); sys.exit(3)', 0, 'netplugin failed: "boom": exit status 3'),
        ("sys.exit(2)", 0, "failed with no error message: exit status 2"),
    ],
)
def test_delegate_errors(tmp_path, body, code, msg):
    fake_plugin(tmp_path, "bad-ipam", body)
    with pytest.raises(CNIError) as info:
        delegate("ADD", "bad-ipam", b"{}", [str(tmp_path)], "1.0.0")
    assert info.value.code == code
    assert msg in info.value.msg


def test_delegate_bad_result(tmp_path):
    fake_plugin(tmp_path, "odd-ipam", 'print("{")')
    with pytest.raises(CNIError) as info:
        delegate("ADD", "odd-ipam", b"{}", [str(tmp_path)], "1.0.0")
    assert info.value.code == 6


def test_proc_run_handles_big_outputs_both_ways(tmp_path):
    from libcni import proc

    script = "import sys; d = sys.stdin.buffer.read(); sys.stderr.buffer.write(d); sys.stdout.buffer.write(d[::-1])"
    data = os.urandom(1 << 20)
    done = proc.run([sys.executable, "-c", script], data)
    assert done.returncode == 0 and done.stderr == data and done.stdout == data[::-1]
