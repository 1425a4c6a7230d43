#!/bin/sh
# Retrain the bundled demo model and re-check the export (see models/README.md).
# Needs Debian's python3-torch, python3-sentencepiece, python3-numpy and r-cran-janeaustenr
# (deploy/install-deps.sh train). Uses /usr/bin/python3 on purpose: a pyenv/venv python
# earlier on PATH would not see the Debian modules.
set -eu
cd "$(dirname "$0")/../.."
/usr/bin/python3 tools/train-demo/train.py --out models --minutes 38 "$@"
/usr/bin/python3 tools/train-demo/check_export.py
/usr/bin/python3 tools/train-demo/sample.py
sha256sum models/*.bin models/*.txt
