#!/usr/bin/env bash
# Install what automarket needs when it is missing, and nothing when it is there:
# Debian's media engines (ffmpeg, flite, pocketsphinx with its English model, sox), PostgreSQL's
# server binaries (the many-node tests start throwaway servers with them, test/support/Postgres.ts),
# Chromium (the dashboard's browser test)
# and the npm packages of package-lock.json. Idempotent; a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
command -v flite >/dev/null 2>&1 || missing+=(flite)
command -v pocketsphinx_continuous >/dev/null 2>&1 || missing+=(pocketsphinx)
[ -d /usr/share/pocketsphinx/model/en-us ] || missing+=(pocketsphinx-en-us)
command -v sox >/dev/null 2>&1 || missing+=(sox)
# Debian keeps one bin directory per major version; any version will do.
compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || missing+=(postgresql)
# Headless Chromium for the dashboard's browser test (driven by puppeteer-core), and a font for its text.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)

if [ ${#missing[@]} -gt 0 ]; then
  echo "ensure: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "ensure: need root (or sudo) to install ${missing[*]}" >&2; exit 1
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The package may start a system-wide server of its own; the tests start (and stop) their own.
  if [[ " ${missing[*]} " == *" postgresql "* ]] && command -v pg_lsclusters >/dev/null 2>&1; then
    pg_lsclusters -h 2>/dev/null | awk '$4 == "online" { print $1, $2 }' | while read -r version cluster; do
      $sudo pg_ctlcluster "$version" "$cluster" stop || true
    done
  fi
fi

# npm packages: install when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "ensure: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi
