#!/usr/bin/env bash
# Installs the system packages hiehub needs on Debian/Ubuntu, when they are missing.
#   deploy/setup.sh          build + run: C toolchain, OpenSSL and libpq headers, PostgreSQL server binaries,
#                            cmake (the CharLS JPEG-LS codec is built from source)
#   deploy/setup.sh --test   also what the test suite drives: xmllint, Python zeep, the imaging
#                            clients (pydicom, dicomweb-client, pynetdicom, Pillow, dcmtk)
# Idempotent and quiet when everything is there. As root it installs with apt-get; otherwise with
# sudo when available; else it prints the exact command to run and stops.
set -euo pipefail

want=(build-essential pkg-config libssl-dev libpq-dev postgresql cmake)
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
  if ! python3 -c 'import hl7.client' 2>/dev/null; then
    echo "setup: installing the Python HL7 v2 library hl7 (MLLP interop tests)" >&2
    python3 -m pip install --quiet --disable-pip-version-check hl7 \
      || { echo "setup: could not install hl7: run 'python3 -m pip install hl7'" >&2; exit 1; }
  fi
  if ! python3 -c 'import signxml' 2>/dev/null; then
    echo "setup: installing the Python XML-DSig library signxml (XUA interop tests)" >&2
    python3 -m pip install --quiet --disable-pip-version-check signxml \
      || { echo "setup: could not install signxml: run 'python3 -m pip install signxml'" >&2; exit 1; }
  fi
  if ! python3 -c 'import zeep' 2>/dev/null; then
    echo "setup: installing the Python SOAP client zeep (interop tests)" >&2
    python3 -m pip install --quiet --disable-pip-version-check zeep \
      || { echo "setup: could not install zeep: run 'python3 -m pip install zeep'" >&2; exit 1; }
  fi
  # Browser tests (tests/it/inspector.rs): Debian's Chromium at /usr/bin/chromium, driven by npm
  # playwright-core from tests/browser (never `npx playwright install`: no browser downloads).
  apt_test_install() {
    if [[ $(id -u) -eq 0 ]]; then
      echo "setup: installing $*" >&2
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null
    elif command -v sudo >/dev/null 2>&1; then
      echo "setup: installing $* with sudo" >&2
      sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq
      sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null
    else
      echo "setup: missing $*. Run as root: apt-get install -y --no-install-recommends $*" >&2
      exit 1
    fi
  }
  if [[ ! -x /usr/bin/chromium ]]; then apt_test_install chromium; fi
  # Imaging interop (tests/it/imaging.rs): dcmtk's storescu/echoscu/dcmj2pnm and the Python
  # DICOM clients.
  if [[ ! -x /usr/bin/storescu ]]; then apt_test_install dcmtk; fi
  if ! python3 -c 'import pydicom, dicomweb_client, pynetdicom, PIL, numpy, openjpeg' 2>/dev/null; then
    echo "setup: installing pydicom, dicomweb-client, pynetdicom, Pillow, numpy, pylibjpeg-openjpeg (imaging tests)" >&2
    python3 -m pip install --quiet --disable-pip-version-check pydicom dicomweb-client pynetdicom pillow numpy \
      pylibjpeg pylibjpeg-openjpeg \
      || { echo "setup: could not install the Python DICOM clients" >&2; exit 1; }
  fi
  if ! command -v npm >/dev/null 2>&1; then apt_test_install nodejs npm; fi
  if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
    echo "setup: the browser tests need Node.js >= 20 (playwright-core); found $(node --version)" >&2
    exit 1
  fi
  browser_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/browser" && pwd)"
  # node_modules is stale when the lock file changed since the last `npm ci` (stamp: a copy of it).
  if ! cmp -s "$browser_dir/package-lock.json" "$browser_dir/node_modules/.setup-package-lock.json"; then
    echo "setup: npm ci in tests/browser (playwright-core)" >&2
    (cd "$browser_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) \
      || { echo "setup: npm ci failed in $browser_dir" >&2; exit 1; }
    cp "$browser_dir/package-lock.json" "$browser_dir/node_modules/.setup-package-lock.json"
  fi
fi
