// A first visit as a user's browser makes it: a persistent profile, so an HTTP cache on disk
// (the bench's fresh in-memory contexts do not keep the 7.4 MB training images, and their
// service worker downloads them again). Prints the bytes on the wire per file, by who asked
// (the page and its workers, or the service worker making its offline copy), once that copy
// is complete, and the total.
// usage: node tests/e2e/bench-profile-visit.mjs DIST
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { FLAGS } from './browser.mjs';
import { startServer } from './server.mjs';

const root = process.argv[2] ?? 'dist';
const server = await startServer(root);
const url = `http://127.0.0.1:${server.address().port}/`;
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mnist-profile-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium', headless: true, args: FLAGS, viewport: { width: 1400, height: 1000 },
});
const bytes = new Map();
context.on('requestfinished', async (request) => {
  const response = await request.response();
  if (!response) return;
  const sizes = await request.sizes().catch(() => null);
  const key = `${request.serviceWorker() ? 'service worker' : 'page'}: ${new URL(request.url()).pathname.split('/').pop() || 'index.html'} (HTTP ${response.status()})`;
  bytes.set(key, (bytes.get(key) ?? 0) + (sizes?.responseBodySize ?? 0) + (sizes?.responseHeadersSize ?? 0));
});
const page = context.pages()[0] ?? await context.newPage();
await page.goto(url);
await page.waitForSelector('#train-count', { timeout: 120_000 });
const expected = JSON.parse(fs.readFileSync(path.join(root, 'sw.js'), 'utf8').match(/^const FILES = (\[.*\]);$/m)[1]).length;
const kept = () => page.evaluate(async () => {
  const names = (await caches.keys()).filter((n) => n.startsWith('mnist-studio-'));
  return names.length === 1 ? (await (await caches.open(names[0])).keys()).length : 0;
});
for (const t0 = Date.now(); await kept() < expected; await page.waitForTimeout(250)) {
  if (Date.now() - t0 > 120_000) throw new Error(`the offline copy holds ${await kept()} of ${expected} files`);
}
await page.waitForTimeout(1000);
let total = 0;
for (const [what, n] of [...bytes.entries()].sort((a, b) => b[1] - a[1])) {
  total += n;
  if (n > 10_000) console.log(`${what.padEnd(60)} ${(n / 1e6).toFixed(2)} MB`);
}
console.log(`first visit, offline copy complete (${expected} files): ${(total / 1e6).toFixed(2)} MB on the wire`);
await context.close();
server.close();
fs.rmSync(profile, { recursive: true, force: true });
