#!/usr/bin/env bash
# Sets up the Python environment for the Spark and Dask integration
# (python/, the `tally_engine` package) and its tests:
#   - a venv with pyspark, pyarrow, pandas<3, dask[dataframe], pytest, numpy,
#     kept OUTSIDE the repository, in ${TALLY_CACHE:-$HOME/.cache/tally}/venv-engines,
#     so that a fresh clone (CI) reuses it: pyspark is a ~435 MB source archive
#     that pip builds locally (minutes), the venv is ~900 MB;
#   - `pip install ./python` into it (redone when python/ changed).
# Needs python3 (3.10+) with venv, and Java 17 or 21 on PATH for Spark
# (installed from Debian's packages when missing, as root).
# Idempotent: each step is skipped when already done (about 1 s then).
# Usage: Scripts/engine-env.sh   (from anywhere)
# Prints, as its last line, the venv's python:
#   py="$(Scripts/engine-env.sh | tail -n1)"; "$py" -m pytest python/tests
set -euo pipefail
cd "$(dirname "$0")/.."

# Versions the integration was last verified with; override to try others, e.g.
# TALLY_PYSPARK_VERSION=4.2.0 Scripts/engine-env.sh (after removing the venv).
pyspark_version=${TALLY_PYSPARK_VERSION:-4.3.0}
pyarrow_version=${TALLY_PYARROW_VERSION:-26.0.0}
pandas_spec=${TALLY_PANDAS_SPEC:-pandas<3}
dask_version=${TALLY_DASK_VERSION:-2026.8.0}
numpy_spec=${TALLY_NUMPY_SPEC:-numpy}
pytest_spec=${TALLY_PYTEST_SPEC:-pytest}
setuptools_spec=${TALLY_SETUPTOOLS_SPEC:-setuptools>=77}

cache=${TALLY_CACHE:-$HOME/.cache/tally}
venv=$cache/venv-engines
py=$venv/bin/python

log() { echo "engine-env: $*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else log "need root (or sudo) for: $*"; exit 1
  fi
}

# 1. Debian packages: Java for Spark, venv support for Debian's python3.
apt_packages=()
if ! command -v java >/dev/null; then apt_packages+=(openjdk-17-jre-headless); fi
if ! command -v python3 >/dev/null; then apt_packages+=(python3); fi
if [ ! -x "$py" ] && ! python3 -c 'import ensurepip' 2>/dev/null; then
  apt_packages+=(python3-venv)
fi
if [ ${#apt_packages[@]} -gt 0 ]; then
  log "apt-get install -y --no-install-recommends ${apt_packages[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes \
    apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
fi

# 2. The venv, created once and reused (recreated when an import fails, e.g.
#    after an interrupted install). PYSPARK_HADOOP_VERSION must stay unset: it
#    makes pyspark's build download another Spark distribution.
if [ -x "$py" ] && "$py" -c 'import pyspark, pyarrow, pandas, dask.dataframe, pytest, numpy, setuptools' 2>/dev/null; then
  log "$venv already has pyspark, pyarrow, pandas, dask, pytest, numpy"
else
  log "creating $venv (pyspark==$pyspark_version: pip builds a ~435 MB archive, a few minutes)"
  rm -rf "$venv"
  mkdir -p "$cache"
  python3 -m venv "$venv"
  "$py" -m pip install -q --disable-pip-version-check --upgrade pip
  env -u PYSPARK_HADOOP_VERSION "$py" -m pip install -q --disable-pip-version-check \
    "pyspark==$pyspark_version" "pyarrow==$pyarrow_version" "$pandas_spec" \
    "dask[dataframe]==$dask_version" "$pytest_spec" "$numpy_spec" "$setuptools_spec"
fi
log "$("$py" -c 'from importlib.metadata import version as v
print(", ".join(f"{p} {v(p)}" for p in ("pyspark", "pyarrow", "pandas", "dask", "numpy", "pytest")))')"

# 3. The tally_engine package from python/, reinstalled when any of its files
#    changed since the last install (a stamp in the venv holds their digest).
stamp=$venv/.tally-engine-digest
digest=$(find python -type f \( -name '*.py' -o -name '*.toml' -o -name 'py.typed' -o -name '*.md' \) \
  -not -path '*/tests/*' -not -path '*/__pycache__/*' -not -path '*/build/*' -print0 \
  | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ] && "$py" -c 'import tally_engine' 2>/dev/null; then
  log "tally_engine is up to date"
else
  log "pip install ./python"
  # A copy, so that pip's build leaves nothing (build/, *.egg-info) in the work tree.
  src=$(mktemp -d)
  trap 'rm -rf "$src"' EXIT
  cp -r python "$src/"
  rm -rf "$src/python/tests"
  "$py" -m pip install -q --disable-pip-version-check --no-deps --force-reinstall \
    --no-build-isolation "$src/python"
  echo "$digest" >"$stamp"
fi

echo "$py"
