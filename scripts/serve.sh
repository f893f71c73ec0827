#!/usr/bin/env bash
# Set up whatever is missing, build the app (release) and serve it on http://127.0.0.1:8080/.
# A first build compiles burn for wasm (10-20 minutes on 2 cores); later ones are quick.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SETUP_SKIP_BROWSER=1 bash scripts/setup.sh
echo "==> serving on http://127.0.0.1:8080/ (Ctrl-C to stop)"
exec trunk serve --release "$@"
