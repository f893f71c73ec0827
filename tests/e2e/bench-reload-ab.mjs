// Second visits of two builds, taking turns: each build's first visit in a fresh context,
// until its service worker's copy is whole, then reloads, timed on the page's own clock (from
// navigation start): the reader named its network, and the dataset shown. Also what each
// reload asked of the network (requests that the copy did not answer).
// node tests/e2e/bench-reload-ab.mjs RELOADS DIR_A DIR_B
import { launch, openPage } from './browser.mjs';
import { startServer } from './server.mjs';
import { copyComplete } from './studio.mjs';

const [reloads = '5', ...dirs] = process.argv.slice(2);
const browser = await launch();
const builds = [];
for (const dir of dirs) {
  const server = await startServer(dir);
  const base = `http://127.0.0.1:${server.address().port}/`;
  const { page, context } = await openPage(browser, base);
  await page.waitForSelector('#train-count', { timeout: 120_000 });
  await copyComplete(page);
  builds.push({ dir, server, page, context, times: [] });
}
const marks = () => {
  // Polled from the page: when each moment was first seen, on its clock.
  const at = {};
  const look = () => {
    const now = performance.now();
    if (!at.reader && document.querySelector('#reader')?.dataset.network) at.reader = now;
    if (!at.dataset && document.querySelector('#train-count')) at.dataset = now;
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true, attributes: true });
  globalThis.__marks = at;
};
for (const b of builds) await b.context.addInitScript(marks);
for (let i = 0; i < Number(reloads); i++) {
  for (const b of i % 2 ? [...builds].reverse() : builds) {
    b.server.requests = [];
    await b.page.reload();
    await b.page.waitForFunction(() => globalThis.__marks?.dataset && globalThis.__marks?.reader, null, { timeout: 120_000, polling: 20 });
    const at = await b.page.evaluate(() => globalThis.__marks);
    await b.page.waitForTimeout(500);
    b.times.push({ reader: Math.round(at.reader), dataset: Math.round(at.dataset), asked: b.server.requests.length });
  }
}
for (const b of builds) {
  const median = (k) => b.times.map((t) => t[k]).sort((x, y) => x - y)[Math.floor(b.times.length / 2)];
  console.log(`${b.dir}: reloads ${b.times.length}, median reader named ${median('reader')} ms, dataset shown ${median('dataset')} ms (each: ${b.times.map((t) => `${t.reader}/${t.dataset}`).join(', ')}); requests to the server per reload: ${b.times.map((t) => t.asked).join(', ')}`);
  await b.context.close();
  b.server.close();
}
await browser.close();
