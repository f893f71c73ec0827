// Precompress files for serving: FILE.br (Brotli, quality 11, 16 MiB window) and, with --gzip,
// FILE.gz (gzip -9), written beside each FILE. Brotli at quality 11 is slow (about a minute for
// the 30 MB worker on one core), so each result is kept in a cache folder under the SHA-256 of
// its input: a rebuild whose files did not change compresses nothing.
// usage: node scripts/compress.mjs [--gzip] [--cache DIR] FILE...
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const args = process.argv.slice(2);
const gzip = args.includes('--gzip');
const cacheAt = args.indexOf('--cache');
const cache = cacheAt >= 0 ? args[cacheAt + 1] : null;
const files = args.filter((a, i) => !a.startsWith('--') && (cacheAt < 0 || i !== cacheAt + 1));

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

if (cache) fs.mkdirSync(cache, { recursive: true });
for (const file of files) {
  const bytes = fs.readFileSync(file);
  const hash = crypto.createHash('sha256').update(bytes).digest('hex');
  for (const ext of gzip ? ['br', 'gz'] : ['br']) {
    const kept = cache && path.join(cache, `${hash}.${ext}`);
    let out;
    if (kept && fs.existsSync(kept)) out = fs.readFileSync(kept);
    else {
      out = ENCODERS[ext](bytes);
      // Written whole, then renamed: an interrupted run must not leave a cut copy to reuse.
      if (kept) {
        fs.writeFileSync(`${kept}.part`, out);
        fs.renameSync(`${kept}.part`, kept);
      }
    }
    fs.writeFileSync(`${file}.${ext}`, out);
    console.log(`${file}.${ext}: ${bytes.length} -> ${out.length} bytes`);
  }
}
