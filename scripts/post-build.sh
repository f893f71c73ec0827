#!/usr/bin/env bash
# Trunk's post-build hook (Trunk.toml): the threaded worker, then the service worker's file
# list, which must include the threaded worker's files. In this order, hence one hook.
set -euo pipefail
bash "$(dirname "$0")/build-threaded-worker.sh"
bash "$(dirname "$0")/stamp-service-worker.sh"
