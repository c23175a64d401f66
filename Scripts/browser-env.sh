#!/usr/bin/env bash
# Sets up what Scripts/check-report.py needs to render `tally report` pages in
# a real headless browser, using only Debian's packages and PyPI:
#   - Debian's `chromium` (Playwright's own browser download cannot be used:
#     the check drives this system Chromium through `executable_path`), and
#     `fonts-dejavu-core` so that text has glyphs (with no font at all Chromium
#     draws no text, silently);
#   - a Python venv at .venv-browser/ (git-ignored) with playwright and Pillow.
# Idempotent: each step is skipped when already done (about 0.2 s then).
# Usage: Scripts/browser-env.sh   (from anywhere; as root, or with sudo)
# Prints, as its last line, the python to run the check with:
#   "$(Scripts/browser-env.sh | tail -n1)" Scripts/check-report.py PAGE.html
set -euo pipefail
cd "$(dirname "$0")/.."

# Versions the check was last verified with; override to try others, e.g.
# TALLY_PLAYWRIGHT_VERSION=1.60.0 Scripts/browser-env.sh (after rm -rf .venv-browser).
playwright_version=${TALLY_PLAYWRIGHT_VERSION:-1.65.2}
pillow_version=${TALLY_PILLOW_VERSION:-13.0.0}
venv=.venv-browser

log() { echo "browser-env: $*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else log "need root (or sudo) for: $*"; exit 1
  fi
}

installed() { # a Debian package is installed
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# 1. Debian packages.
apt_packages=()
if ! command -v chromium >/dev/null; then apt_packages+=(chromium); fi
if ! installed fonts-dejavu-core; then apt_packages+=(fonts-dejavu-core); fi
if ! command -v python3 >/dev/null; then apt_packages+=(python3); fi
# Debian's own python3 needs python3-venv for `python3 -m venv` (ensurepip);
# other pythons (pyenv's, say) have it built in.
if [ ! -x "$venv/bin/python" ] && ! python3 -c 'import ensurepip' 2>/dev/null; then
  apt_packages+=(python3-venv)
fi
if [ ${#apt_packages[@]} -gt 0 ]; then
  log "apt-get update"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  log "apt-get install -y --no-install-recommends ${apt_packages[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes \
    apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
else
  log "chromium and fonts already installed"
fi
log "$(chromium --version 2>/dev/null || echo 'chromium --version failed')"

# 2. The venv (recreated when it lacks either package, e.g. after a failed install).
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import playwright, PIL' 2>/dev/null; then
  log "$venv already has playwright and Pillow"
else
  log "creating $venv with playwright==$playwright_version Pillow==$pillow_version"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    "playwright==$playwright_version" "Pillow==$pillow_version"
fi
log "$("$venv/bin/python" -c 'from importlib.metadata import version as v
print("playwright", v("playwright"), "/ Pillow", v("Pillow"))')"

# 3. .venv-browser/ stays out of git.
if ! grep -qxF "$venv/" .gitignore 2>/dev/null; then
  log "adding $venv/ to .gitignore"
  echo "$venv/" >>.gitignore
fi

echo "$PWD/$venv/bin/python"
