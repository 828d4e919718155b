#!/usr/bin/env bash
# pycni's one build script.
#   ./build.sh                 venv + PyInstaller bundle: dist/bin/<type> for every plugin, plus cnitool
#   ./build.sh install [DIR]   copy the bundle to DIR (default /opt/cni/bin) and link every plugin name
#   ./build.sh demo            build if needed, then wire a demo namespace and prove traffic flows
#   ./build.sh test            install what the tests need (apt + venv), build, run the whole suite
#   ./build.sh bench [ARGS]    side-by-side benchmark against Debian's Go plugins (bench/README.md)
#   ./build.sh dev             fast source-tree shims in build/devbin (no PyInstaller), for development
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
DIST="$ROOT/dist"
PLUGINS=(loopback bridge host-local portmap cnitool)
# What the plugins call at run time (the demo's bridge + portmap network uses iproute2 and iptables).
DEMO_APT_PACKAGES=(iproute2 iptables nftables)
TEST_APT_PACKAGES=(iptables nftables conntrack iproute2 iputils-ping containernetworking-plugins curl procps strace)

log() { printf '==> %s\n' "$*" >&2; }

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "build.sh $1: must run as root (it creates network namespaces and firewall rules)" >&2
    exit 1
  fi
}

# A real interpreter, not a pyenv shim (a shim adds ~100 ms to every start and hides the real path).
find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || continue
    "$candidate" -c 'import sys; assert sys.version_info >= (3, 11); print(sys.executable)' 2>/dev/null && return 0
  done
  echo "build.sh: needs Python >= 3.11 (set PYTHON=/path/to/python3)" >&2
  return 1
}

ensure_venv() {
  local stamp="$VENV/.pycni-deps" want
  want="$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
  if [ -x "$PY" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  if [ ! -x "$PY" ]; then
    local base
    base="$(find_python)"
    log "creating venv with $base"
    case "$base" in
      # Debian's own python3 ships venv, and the shared libpython that PyInstaller bundles, separately.
      /usr/bin/*) apt_install python3-venv python3-dev ;;
    esac
    "$base" -m venv "$VENV"
  fi
  log "installing Python dependencies (pyproject.toml)"
  "$PY" - "$ROOT/pyproject.toml" >"$VENV/requirements.txt" <<'PYEOF'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
print("\n".join(project["dependencies"] + project["optional-dependencies"]["dev"]))
PYEOF
  "$PY" -m pip install --quiet --disable-pip-version-check -r "$VENV/requirements.txt"
  echo "$want" >"$stamp"
}

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  need_root "apt-get install"
  log "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

sources_hash() {
  (cd "$ROOT" && find cni libcni pycni.spec pyproject.toml -type f \( -name '*.py' -o -name '*.spec' -o -name '*.toml' \) -print0 \
    | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
}

build() {
  # One build at a time: several shells may call ./build.sh on one tree. The lock lives in a subshell
  # so it is released however the build ends (a nested `build.sh install` must not wait for it).
  mkdir -p "$ROOT/build"
  (
    flock 9
    ensure_venv
    local want
    want="$(sources_hash)"
    if [ -x "$DIST/pycni/pycni" ] && [ "$(cat "$DIST/.pycni-build" 2>/dev/null)" = "$want" ]; then
      log "dist/ is up to date"
      exit 0
    fi
    log "building the PyInstaller bundle"
    rm -rf "$DIST/pycni" "$ROOT/build/pyinstaller"
    "$VENV/bin/pyinstaller" --noconfirm --log-level WARN --distpath "$DIST" --workpath "$ROOT/build/pyinstaller" \
      "$ROOT/pycni.spec"
    mkdir -p "$DIST/bin"
    for name in "${PLUGINS[@]}"; do
      ln -sfn ../pycni/pycni "$DIST/bin/$name"
    done
    echo "$want" >"$DIST/.pycni-build"
    log "built: $DIST/bin ($(printf '%s ' "${PLUGINS[@]}"))"
  ) 9>"$ROOT/build/.build.lock"
}

install_bin() {
  local dir="${1:-/opt/cni/bin}"
  build
  mkdir -p "$dir"
  # The bundle lives beside the plugins in a hidden folder, so DIR stays usable as CNI_PATH on its own.
  rm -rf "$dir/.pycni.new"
  cp -a "$DIST/pycni" "$dir/.pycni.new"
  rm -rf "$dir/.pycni"
  mv "$dir/.pycni.new" "$dir/.pycni"
  for name in "${PLUGINS[@]}"; do
    ln -sfn .pycni/pycni "$dir/$name"
  done
  log "installed ${PLUGINS[*]} into $dir"
}

dev_shims() {
  ensure_venv
  mkdir -p "$ROOT/build/devbin"
  for name in "${PLUGINS[@]}"; do
    cat >"$ROOT/build/devbin/$name" <<SHIM
#!$PY -I
import sys
sys.path.insert(0, "$ROOT")
from cni.multicall import main
main()
SHIM
    chmod +x "$ROOT/build/devbin/$name"
  done
  log "source shims in $ROOT/build/devbin"
}

run_tests() {
  need_root test
  apt_install "${TEST_APT_PACKAGES[@]}"
  build
  dev_shims  # the start-up budget tests run plugins from source, with these as CNI_PATH
  log "lint: ruff"
  local lint_paths=()
  for dir in libcni cni tests bench; do [ -d "$ROOT/$dir" ] && lint_paths+=("$ROOT/$dir"); done
  "$VENV/bin/ruff" check "${lint_paths[@]}"
  log "types: mypy libcni"
  (cd "$ROOT" && "$VENV/bin/mypy" --no-error-summary)
  log "tests against the built executables in $DIST/bin"
  # The whole session runs in a private network namespace: no test can touch this machine's own
  # links, routes, firewall or sysctls, even by mistake. Each test makes its own namespaces too.
  cd "$ROOT"
  PYCNI_BIN="$DIST/bin" unshare --net -- "$PY" -m pytest -q -p no:cacheprovider "$@"
}

case "${1:-build}" in
  build) build ;;
  install) shift; install_bin "$@" ;;
  demo) need_root demo; apt_install "${DEMO_APT_PACKAGES[@]}"; build; exec "$PY" "$ROOT/conf-examples/demo.py" ;;
  test) shift; run_tests "$@" ;;
  bench) shift; need_root bench; build; apt_install "${TEST_APT_PACKAGES[@]}"; cd "$ROOT"; exec "$PY" -m bench "$@" ;;
  dev) dev_shims ;;
  *) echo "usage: ./build.sh [build|install [DIR]|demo|test [pytest args]|bench|dev]" >&2; exit 2 ;;
esac
