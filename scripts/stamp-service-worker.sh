#!/usr/bin/env bash
# Write this build's file list and version into its service worker (www/sw.js, copied by
# Trunk): the files it keeps for offline use, and a version that changes with any of them, so
# a new build's service worker replaces the old copy; and that version into the page
# (index.html) and the workers' loaders, so that a worker of another build refuses to run for a
# page (a tab left open across a deploy). Trunk runs it after every build
# (scripts/post-build.sh), in the staging folder it then publishes.
# By hand: bash scripts/stamp-service-worker.sh [DIR]   (default dist)
set -euo pipefail
dir=${TRUNK_STAGING_DIR:-${1:-dist}}
cd "$dir"
# Everything but the service worker itself, the precompressed copies of the app's files (a
# server's business, not the page's: scripts/post-build.sh) and the MNIST files the page does
# not fetch (it fetches the Brotli ones unless told ?gzip or ?raw).
mapfile -t app < <(find . -type f ! -name sw.js ! -name '*.br' ! -name '*.gz' ! -path './data/*' | sed 's|^\./||' | LC_ALL=C sort)
mapfile -t data < <(find data -type f -name '*.br' 2>/dev/null | LC_ALL=C sort)
# The service worker's own code counts too (without the two lines written here): a build that
# changes only it must install under a new name, or a failed install would delete the copy
# the running one serves from.
# The version written into the page's boot script and the workers' loaders is left out of
# their hash, so stamping again gives the same version.
# The data files' hashes: the service worker keeps a data file (downloaded, or from an older
# copy) only with this build's bytes, and a change of them is a new version.
hashes=$(for f in "${data[@]}"; do printf '"%s":"%s",' "$f" "$(sha256sum "$f" | cut -c1-64)"; done)
version=$( { for f in "${app[@]}"; do printf '%s ' "$f"; sed '/^const MNIST_VERSION = /d; /<meta name="mnist-version"/d; s|boot\.js?version=[0-9a-z]*"|boot.js"|' "$f" | sha256sum; done
  printf '%s\n' "$hashes"
  sed '/^const VERSION = /d; /^const FILES = /d; /^const DATA_SHA256 = /d' sw.js | sha256sum; } | sha256sum | cut -c1-16)
list=$(printf '"%s",' "${app[@]}" "${data[@]}")
sed -i "s|^const VERSION = .*|const VERSION = '$version';|; s|^const FILES = .*|const FILES = [${list%,}];|; s|^const DATA_SHA256 = .*|const DATA_SHA256 = {${hashes%,}};|" sw.js
# The same version in the page's boot script and the workers' loaders: a worker of another
# build refuses to run for the page (www/worker_loader.js).
for f in worker_loader.js reader_loader.js; do
  if [[ -f $f ]]; then sed -i "s|^const MNIST_VERSION = .*|const MNIST_VERSION = '$version';|" "$f"; fi
done
sed -i "s|<meta name=\"mnist-version\" content=\"[^\"]*\"|<meta name=\"mnist-version\" content=\"$version\"|" index.html
# The page's boot script by the same version: the service worker answers a file whose address
# names its own build from its copy first (www/sw.js), and a new build's page never runs an
# older build's boot.js from the HTTP cache (its address is new).
sed -i -E "s#src=\"([^\"]*)boot\.js(\?version=[0-9a-z]*)?\"#src=\"\1boot.js?version=$version\"#" index.html
echo "service worker: version $version, ${#app[@]} app files and ${#data[@]} data files"
