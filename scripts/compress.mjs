// Precompress files for serving: FILE.br (Brotli, quality 11, 16 MiB window) and, with --gzip,
// FILE.gz (gzip -9), written beside each FILE. Brotli at quality 11 is slow (about a minute for
// the 30 MB worker on one core), so each result is kept in a cache folder under the SHA-256 of
// its input: a rebuild whose files did not change compresses nothing.
// --parts N (N > 1), for packed image files: each FILE.br is N Brotli streams of consecutive
// pieces of FILE behind a small header (src/data/parts.rs defines it), so the page can decode
// the pieces on several threads at once (see `cuts` for where the cuts fall). gzip copies
// stay whole.
// usage: node scripts/compress.mjs [--gzip] [--cache DIR] [--parts N] FILE...
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const args = process.argv.slice(2);
const gzip = args.includes('--gzip');
const cacheAt = args.indexOf('--cache');
const cache = cacheAt >= 0 ? args[cacheAt + 1] : null;
const partsAt = args.indexOf('--parts');
const parts = partsAt >= 0 ? Number(args[partsAt + 1]) : 1;
if (!(Number.isInteger(parts) && parts >= 1 && parts <= 16)) throw new Error('--parts takes 1 to 16');
const valueAt = new Set([cacheAt, partsAt].filter((i) => i >= 0).map((i) => i + 1));
const files = args.filter((a, i) => !a.startsWith('--') && !valueAt.has(i));

const ENCODERS = {
  br: (bytes) => zlib.brotliCompressSync(bytes, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
      [zlib.constants.BROTLI_PARAM_LGWIN]: 24,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  }),
  gz: (bytes) => zlib.gzipSync(bytes, { level: 9 }),
};

// ENCODERS[ext] of bytes, from the cache when it holds them.
function encoded(bytes, ext) {
  const hash = crypto.createHash('sha256').update(bytes).digest('hex');
  const kept = cache && path.join(cache, `${hash}.${ext}`);
  if (kept && fs.existsSync(kept)) return fs.readFileSync(kept);
  const out = ENCODERS[ext](bytes);
  // Written whole, then renamed: an interrupted run must not leave a cut copy to reuse.
  if (kept) {
    fs.writeFileSync(`${kept}.part`, out);
    fs.renameSync(`${kept}.part`, kept);
  }
  return out;
}

// Where to cut a packed image file (src/data/packed.rs: magic, IDX header, a 4-byte mask per
// 28-pixel row, then the pixels that are not zero) into n pieces: where the mask ends, then
// the pixels in n - 1 equal pieces. The mask and the pixels compress best apart (the training
// images' mask alone is 1.15 MB of Brotli and decodes, natively, in about the time of one of
// three pixel pieces), and the page's pool takes the pieces as its threads come free.
function cuts(bytes, n) {
  if (bytes.subarray(0, 4).toString('latin1') !== 'MNZ\x01') throw new Error('--parts is for packed image files');
  const maskEnd = 4 + 16 + bytes.readUInt32BE(8) * 28 * 4;
  const pixels = bytes.length - maskEnd;
  return [maskEnd, ...Array.from({ length: n - 2 }, (_, i) => maskEnd + Math.round((pixels * (i + 1)) / (n - 1)))];
}

// FILE.br in parts: the header (magic 0x11 "MNP", the count, each part's length, all
// big-endian 32-bit) and the parts' Brotli streams.
function inParts(bytes, n) {
  const bounds = [0, ...cuts(bytes, n), bytes.length];
  const streams = bounds.slice(1).map((end, i) => encoded(bytes.subarray(bounds[i], end), 'br'));
  const header = Buffer.alloc(8 + 4 * streams.length);
  Buffer.from([0x11, 0x4d, 0x4e, 0x50]).copy(header, 0);
  header.writeUInt32BE(streams.length, 4);
  streams.forEach((s, i) => header.writeUInt32BE(s.length, 8 + 4 * i));
  return Buffer.concat([header, ...streams]);
}

if (cache) fs.mkdirSync(cache, { recursive: true });
for (const file of files) {
  const bytes = fs.readFileSync(file);
  for (const ext of gzip ? ['br', 'gz'] : ['br']) {
    const out = ext === 'br' && parts > 1 ? inParts(bytes, parts) : encoded(bytes, ext);
    fs.writeFileSync(`${file}.${ext}`, out);
    const pieces = ext === 'br' && parts > 1 ? ` in ${out.readUInt32BE(4)} parts` : '';
    console.log(`${file}.${ext}: ${bytes.length} -> ${out.length} bytes${pieces}`);
  }
}
