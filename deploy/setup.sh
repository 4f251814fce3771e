#!/usr/bin/env bash
# Installs the system packages hiehub needs on Debian/Ubuntu, when they are missing.
#   deploy/setup.sh          build + run: C toolchain, OpenSSL and libpq headers, PostgreSQL server binaries
#   deploy/setup.sh --test   also what the test suite drives: xmllint, Python zeep
# Idempotent and quiet when everything is there. As root it installs with apt-get; otherwise with
# sudo when available; else it prints the exact command to run and stops.
set -euo pipefail

want=(build-essential pkg-config libssl-dev libpq-dev postgresql)
test_mode=0
if [[ "${1:-}" == "--test" ]]; then
  test_mode=1
  want+=(libxml2-utils python3)
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${want[@]}"; do
    installed "$p" || missing+=("$p")
  done
  # PostgreSQL binaries may come from elsewhere (PATH): then the package is not needed.
  if command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    missing=("${missing[@]/postgresql}")
  fi
  # A python3 on PATH (pyenv, ...) will do.
  if command -v python3 >/dev/null 2>&1; then missing=("${missing[@]/python3}"); fi
  read -r -a missing <<<"${missing[*]}"
else
  echo "setup: not a Debian-like system; make sure these are installed: ${want[*]}" >&2
fi

if ((${#missing[@]})); then
  cmd=(apt-get install -y --no-install-recommends "${missing[@]}")
  if [[ $(id -u) -eq 0 ]]; then
    echo "setup: installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${cmd[@]}" >/dev/null
  elif command -v sudo >/dev/null 2>&1; then
    echo "setup: installing ${missing[*]} with sudo" >&2
    sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive "${cmd[@]}" >/dev/null
  else
    echo "setup: missing system packages. Run as root: ${cmd[*]}" >&2
    exit 1
  fi
fi

if ((test_mode)); then
  if ! python3 -c 'import zeep' 2>/dev/null; then
    echo "setup: installing the Python SOAP client zeep (interop tests)" >&2
    python3 -m pip install --quiet --disable-pip-version-check zeep \
      || { echo "setup: could not install zeep: run 'python3 -m pip install zeep'" >&2; exit 1; }
  fi
fi
