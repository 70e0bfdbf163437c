#!/usr/bin/env bash
# Build the documentation site with warnings as errors. Installs nothing:
# needs the package's dependencies plus the "docs" extra (pip install -e ".[docs]").
#
#   bash docs/build.sh            # HTML into docs/_build/html
#
# The gallery examples (docs/examples/plot_*.py) run during the build. Then the
# doctests of the quick-start page run with plain python (no pytest).
set -euo pipefail
cd "$(dirname "$0")/.."

export MPLBACKEND=Agg
start=$(date +%s)
python -m sphinx -W --keep-going -b html docs docs/_build/html
python -m doctest docs/quickstart.rst
echo "docs built in $(( $(date +%s) - start )) s: docs/_build/html/index.html"
