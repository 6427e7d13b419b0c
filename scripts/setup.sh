#!/usr/bin/env bash
# One-shot set-up on Debian 12 / Ubuntu (Python >= 3.10): system libraries, .venv, GDAL bindings that match
# the system libgdal (built with numpy present, otherwise gdal_array silently lacks numpy support), the rest
# of requirements.txt and the package in editable mode. Safe to rerun: every step is skipped when done.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
need_apt=()
command -v gdal-config >/dev/null 2>&1 || need_apt+=(libgdal-dev gdal-bin)
for lib in libopenjp2.so.7 libgfortran.so.5; do
  ldconfig -p 2>/dev/null | grep -q "$lib" || need_apt+=(libopenjp2-7 libgfortran5)
done
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libgdal-dev gdal-bin libopenjp2-7 libgfortran5 python3-venv >/dev/null
fi
if [ ! -x .venv/bin/python ]; then
  $PY -m venv .venv
fi
. .venv/bin/activate
if ! python -c "from osgeo import gdal_array" >/dev/null 2>&1; then
  pip install -q -U pip "setuptools<70" wheel numpy
  pip install -q --no-build-isolation --no-cache-dir "gdal==$(gdal-config --version)"
fi
if [ ! -f .venv/.requirements.done ] || [ requirements.txt -nt .venv/.requirements.done ] || [ pyproject.toml -nt .venv/.requirements.done ]; then
  pip install -q -r requirements.txt
  pip install -q --no-build-isolation -e .
  touch .venv/.requirements.done
fi
