// A static server for the built app (dist/), with broken variants of the MNIST files under
// /faults/<kind>/ so the end-to-end tests can check every bad-input path in a real browser.
// Like Trunk's server it sends the Content-Security-Policy and the two cross-origin isolation
// headers; under /plain/ the same files come without the isolation headers, as from a static
// host that was never told about them (the page must then train on one core and say so);
// under /stub/<kind>[-<kind>...]/ the same app with workers' scripts changed for a test.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.wasm': 'application/wasm',
  '.css': 'text/css', '.json': 'application/json', '.png': 'image/png', '.svg': 'image/svg+xml',
};

/** Broken versions of a file's bytes (raw IDX), by fault kind. */
function corrupt(kind, name, raw) {
  const copy = Buffer.from(raw);
  switch (kind) {
    case 'truncated':
      return name === 'train-labels-idx1-ubyte' ? raw.subarray(0, raw.length - 5000) : raw;
    case 'badmagic':
      if (name === 't10k-images-idx3-ubyte') copy.writeUInt32BE(0x00000999, 0);
      return copy;
    case 'mismatch':
      if (name !== 'train-labels-idx1-ubyte') return raw;
      { const out = raw.subarray(0, raw.length - 1); const b = Buffer.from(out); b.writeUInt32BE(59999, 4); return b; }
    case 'label':
      if (name === 't10k-labels-idx1-ubyte') copy[8 + 1234] = 12;
      return copy;
    case 'dims':
      if (name === 't10k-images-idx3-ubyte') { copy.writeUInt32BE(32, 8); copy.writeUInt32BE(32, 12); }
      return copy;
    default:
      return raw;
  }
}

/**
 * The policy the built page declares in its meta tag, to send as a header too, as Trunk's
 * server does: a worker takes its policy from its script's header, not from the page.
 */
export function pagePolicy(root) {
  const html = fs.readFileSync(path.join(root, 'index.html'), 'utf8');
  const policy = html.match(/http-equiv="Content-Security-Policy"\s+content="([^"]+)"/);
  if (!policy) throw new Error(`${root}/index.html declares no Content-Security-Policy`);
  return policy[1];
}

/** What makes a page cross-origin isolated (and so allowed SharedArrayBuffer, for threads). */
export const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

/** What is sent compressed (the MNIST files are fetched compressed already). */
const COMPRESSIBLE = new Set(['.html', '.js', '.wasm', '.css', '.json', '.svg', '.weights']);

/** How long /stub/weightsslow/ holds the default network back. */
export const READER_STALL_MS = 9000;

// `precompressed: false` ignores the build's Brotli copies, as a host that serves only what it
// compresses itself (gzip) would: the benchmark's baseline.
// `pageMaxAge`: the page (index.html) is sent fresh for that many seconds, as GitHub Pages
// sends every file (max-age=600), instead of always revalidated.
export function startServer(dir, { port = 0, headers, precompressed = true, pageMaxAge } = {}) {
  const root = path.resolve(dir);
  const gzipped = new Map(); // file and version: its gzip bytes, made once
  headers ??= { 'Content-Security-Policy': pagePolicy(root) };
  const seen = new Map(); // once404: how often each fault URL was asked for
  const givenUp = new Set(); // oncestall: the kinds whose stalled download the browser closed
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    server.requests.push(url.pathname);
    // A connection that stalls: nothing is answered, nothing is closed.
    if (server.stall) return;
    let pathname = decodeURIComponent(url.pathname);
    const plain = pathname.startsWith('/plain/');
    if (plain) pathname = pathname.slice('/plain'.length);
    // /stub/<kind>/: the app as usual, but for one worker's script, changed as a test needs
    // (decided here, not by the browser driver's request interception, which can miss a
    // worker's first request).
    const stub = pathname.match(/^\/stub\/([a-z-]+)(\/.*)$/);
    if (stub) pathname = stub[2];
    // /given-up/<kind>: whether the browser has closed the connection of that kind's stalled
    // download (giving up must end the request, not only stop reading it).
    const givenUpAsked = pathname.match(/^\/given-up\/([a-z0-9]+)$/);
    if (givenUpAsked) {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify(givenUp.has(givenUpAsked[1])));
      return;
    }
    const fault = pathname.match(/^\/faults\/([a-z0-9]+)\/(.+)$/);
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    if (!plain) for (const [k, v] of Object.entries(ISOLATION)) res.setHeader(k, v);
    if (fault) {
      const [, kind, file] = fault;
      const name = file.replace(/\.(gz|br)$/, '');
      const rawPath = path.join(root, 'data', name);
      if (!fs.existsSync(rawPath) || kind === '404') { res.writeHead(404); res.end('not found'); return; }
      const count = (seen.get(req.url) ?? 0) + 1;
      seen.set(req.url, count);
      // once404, once404b, ...: each URL's first request fails; a test of its own takes its own
      // name, since the count lives as long as the server.
      if (kind.startsWith('once404') && count === 1) { res.writeHead(404); res.end('not found'); return; }
      let body = corrupt(kind, name, fs.readFileSync(rawPath));
      if (file.endsWith('.gz')) body = zlib.gzipSync(body, { level: 1 });
      if (file.endsWith('.br')) body = zlib.brotliCompressSync(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1, [zlib.constants.BROTLI_PARAM_LGWIN]: 24 } });
      // oncestall, oncestallb, ...: the first request for the training images sends half and
      // then nothing, its connection left open (a stalled link); later ones are whole.
      // oncestallhead...: the same with nothing sent at all, not even the response's head.
      if (kind.startsWith('oncestall') && name === 'train-images-idx3-ubyte' && count === 1) {
        if (!kind.startsWith('oncestallhead')) {
          res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length });
          res.write(body.subarray(0, body.length >> 1));
        }
        let ours = false;
        const timer = setTimeout(() => {
          ours = true;
          res.socket?.destroy();
        }, 120_000);
        timer.unref();
        res.on('close', () => {
          clearTimeout(timer);
          if (!ours) givenUp.add(kind);
        });
        return;
      }
      if (kind === 'abort' && name === 'train-images-idx3-ubyte') {
        // Promise the whole file, send half, then drop the connection.
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length });
        res.write(body.subarray(0, body.length >> 1), () => setTimeout(() => res.socket.destroy(), 50));
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length });
      res.end(body);
      return;
    }
    if (stub) {
      const kinds = stub[1].split('-');
      const kind = kinds[0];
      const script = (body, status = 200) => {
        res.writeHead(status, { 'Content-Type': 'text/javascript', 'Cache-Control': 'no-store' });
        res.end(body);
      };
      const reader = pathname === '/reader_loader.js';
      // The workers' loaders of another build than the page's (a tab left open across a
      // deploy): their version is not the page's.
      if (kind === 'newversion' && ['/worker_loader.js', '/reader_loader.js'].includes(pathname)) {
        const loader = fs.readFileSync(path.join(root, pathname), 'utf8');
        return script(loader.replace(/^const MNIST_VERSION = .*$/m, "const MNIST_VERSION = 'newer';"));
      }
      // The reader's script throws, or is missing.
      if (kind === 'readerthrows' && reader) return script('throw new Error("the reader could not start");');
      if (kind === 'readermissing' && reader) return script('not found', 404);
      // The reader's first start fails (a flaky connection); it starts when asked again.
      if (kind === 'readeronce' && reader) {
        const count = (seen.get(req.url) ?? 0) + 1;
        seen.set(req.url, count);
        if (count === 1) return script('throw new Error("the reader could not start this time");');
      }
      // The default network's first download fails (the reader's own, at its start).
      if (kind === 'weightsonce' && pathname === '/models/default.weights') {
        const count = (seen.get(req.url) ?? 0) + 1;
        seen.set(req.url, count);
        if (count === 1) return script('unavailable', 503);
      }
      // The default network arrives only after READER_STALL_MS: the reader stalls while the
      // rest of the page starts.
      if (kind === 'weightsslow' && pathname === '/models/default.weights') {
        setTimeout(() => {
          const body = fs.readFileSync(path.join(root, 'models', 'default.weights'));
          res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length, 'Cache-Control': 'no-store' });
          res.end(body);
        }, READER_STALL_MS);
        return;
      }
      // A pool thread of the threaded trainer fails a second after it has said it is ready,
      // without running its share of the pool (as a trap in it would): by then the trainer
      // is blocked waiting for it (rayon waits for every thread of its pool), so it can no
      // longer hear the thread's error.
      if (kind === 'threadfails' && pathname === '/thread.js') {
        const thread = fs.readFileSync(path.join(root, 'thread.js'), 'utf8');
        const failing = thread.replace('wasm_bindgen.mnist_pool_thread(queue);',
          "Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000); throw new WebAssembly.RuntimeError('unreachable');");
        if (failing === thread) throw new Error('thread.js no longer runs mnist_pool_thread(queue)');
        return script(failing);
      }
      // The threaded trainer's script throws; the reader's still runs.
      if (kind === 'trainerthrows' && pathname === '/worker_mt_loader.js') return script('throw new RangeError("could not allocate the shared memory");');
      // The trainer started for WebGPU finds no adapter.
      const loader = () => fs.readFileSync(path.join(root, 'worker_loader.js'), 'utf8');
      if (kind === 'noadapter' && pathname === '/worker_loader.js' && url.searchParams.get('backend') === 'webgpu') {
        return script(`navigator.gpu.requestAdapter = async () => null;\n${loader()}`);
      }
      // Every worker's adapter says it is a real GPU (SwiftShader behind it), as on a machine
      // with one: the single-threaded build then takes WebGPU unless told otherwise.
      if (kinds.includes('realgpu') && pathname === '/worker_loader.js') {
        return script(`if (self.navigator.gpu) {
  const real = GPU.prototype.requestAdapter;
  navigator.gpu.requestAdapter = async function (options) {
    const adapter = await real.call(navigator.gpu, options);
    if (adapter) for (const o of [adapter, adapter.info]) if (o) Object.defineProperty(o, 'isFallbackAdapter', { value: false });
    return adapter;
  };
}
${loader()}`);
      }
    }
    if (pathname.endsWith('/')) pathname += 'index.html';
    const file = path.join(root, pathname);
    if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404); res.end('not found'); return;
    }
    const type = TYPES[path.extname(file)] ?? 'application/octet-stream';
    // As a static host should serve it: revalidated by ETag (so a second fetch of the same
    // file, by the second worker or the service worker, is a 304), and text and wasm
    // compressed: the build's precompressed Brotli copy (FILE.br, scripts/compress.mjs) to a
    // browser that accepts it, else gzip made here (the MNIST files are compressed already).
    const stat = fs.statSync(file);
    const etag = `"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
    res.setHeader('ETag', etag);
    res.setHeader('Cache-Control', pageMaxAge && path.basename(file) === 'index.html' ? `max-age=${pageMaxAge}` : 'no-cache');
    if (req.headers['if-none-match'] === etag) { res.writeHead(304); res.end(); return; }
    const accepts = req.headers['accept-encoding'] ?? '';
    // A copy older than its file is stale (the file was changed after the build, as a test
    // does to sw.js): never served; gzip made here instead.
    const fresh = (copy) => fs.existsSync(copy) && fs.statSync(copy).mtimeMs >= stat.mtimeMs;
    if (precompressed && COMPRESSIBLE.has(path.extname(file)) && /\bbr\b/.test(accepts) && fresh(`${file}.br`)) {
      const body = fs.readFileSync(`${file}.br`);
      res.writeHead(200, { 'Content-Type': type, 'Content-Encoding': 'br', 'Content-Length': body.length, Vary: 'Accept-Encoding' });
      res.end(body);
      return;
    }
    if (COMPRESSIBLE.has(path.extname(file)) && /\bgzip\b/.test(accepts)) {
      const key = `${file}:${etag}`;
      if (!gzipped.has(key)) gzipped.set(key, zlib.gzipSync(fs.readFileSync(file), { level: 6 }));
      const body = gzipped.get(key);
      res.writeHead(200, { 'Content-Type': type, 'Content-Encoding': 'gzip', 'Content-Length': body.length, Vary: 'Accept-Encoding' });
      res.end(body);
      return;
    }
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': stat.size });
    fs.createReadStream(file).pipe(res);
  });
  // What a test may read and set: every path asked for, in order; and whether to stall.
  server.requests = [];
  server.stall = false;
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

// `node tests/e2e/server.mjs dist 8080`: serve by hand.
if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await startServer(process.argv[2] ?? 'dist', { port: Number(process.argv[3] ?? 8080) });
  console.log(`serving on http://127.0.0.1:${server.address().port}/`);
}
