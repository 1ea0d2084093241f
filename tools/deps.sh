#!/usr/bin/env bash
# What the tests need beyond Go, installed when missing:
#   - Node.js and npm, which run the outside clients of tools/js (npm ci itself runs
#     from the tests);
#   - Debian's Python packages, which the fabric's Python runtimes and the Python
#     functions import under /usr/bin/python3 (the pip registry is unreachable here, and
#     Debian's packages are not seen by another python3 first on PATH, such as pyenv's):
#     Flask and waitress serve the Cloud Functions and OpenFaaS runners, numpy, pymongo
#     and torch the FL functions; libopenblas0-pthread gives torch a fast BLAS (about
#     8 times the reference BLAS's training speed);
#   - Chromium, the headless browser the dashboard's test drives (through chromedp).
# Installs through apt-get when run as root; otherwise stops with one line saying what
# to install.
set -euo pipefail
python=/usr/bin/python3
debs=(python3 python3-numpy python3-pymongo python3-flask python3-waitress python3-torch libopenblas0-pthread chromium)
modules="torch, numpy, pymongo, flask, waitress"

missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
for deb in "${debs[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$deb" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$deb")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "the tests need ${missing[*]}: install them (Debian: apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "installing ${missing[*]} for the tests (python3-torch is large: this takes minutes)" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! "$python" -c "import $modules" 2>/dev/null; then
  echo "$python cannot import $modules: reinstall ${debs[*]} (Debian: apt-get install --reinstall ${debs[*]})" >&2
  exit 1
fi
