// Two or more builds' dataset load in one run (a measurement, not a test): each build's page
// opened fresh, the builds taking turns round by round, and for each the time from navigation
// to the dataset panel's figures appearing (an observer set before the page's first script),
// and the worker's own fetch + decode + checks as the panel says it (whole seconds past 1 s).
// --mbit=N throttles the page's network, its workers' included, to N Mbit/s each way with
// 20 ms latency (the DevTools protocol's emulation), as a user's first visit over a real
// connection; without it, loopback. Pages are served without the isolation headers (the
// single-threaded trainer loads the data) unless --isolated (the threaded trainer, on a page
// with more than one core).
// usage: node tests/e2e/bench-data-ab.mjs ROUNDS DIST... [--mbit=20] [--isolated]
import { launch, openPage } from './browser.mjs';
import { startServer } from './server.mjs';
import { settled } from './studio.mjs';

const args = process.argv.slice(2);
const mbit = Number(args.find((a) => a.startsWith('--mbit='))?.slice('--mbit='.length) ?? 0);
const isolated = args.includes('--isolated');
const [rounds, ...dists] = args.filter((a) => !a.startsWith('--'));
if (!dists.length) throw new Error('usage: bench-data-ab.mjs ROUNDS DIST... [--mbit=20] [--isolated]');

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
/** "9.2 MB Brotli in 494 ms" or "... in 4 s": milliseconds. */
const loadMs = (text) => {
  const ms = /in (\d+) ms/.exec(text);
  return ms ? Number(ms[1]) : Number(/in ([\d.]+) s/.exec(text)?.[1]) * 1000;
};

const servers = await Promise.all(dists.map((d) => startServer(d)));
const browser = await launch();
const results = dists.map((dist) => ({ dist, load: [], ready: [] }));
try {
  for (let round = 0; round < Number(rounds); round++) {
    for (const [i, r] of results.entries()) {
      const url = `http://127.0.0.1:${servers[i].address().port}${isolated ? '/' : '/plain/'}`;
      const { page } = await openPage(browser, 'about:blank');
      await page.addInitScript(() => {
        new MutationObserver(() => {
          if (!window.benchReadyAt && document.querySelector('#data-facts')) window.benchReadyAt = performance.now();
        }).observe(document, { subtree: true, childList: true });
      });
      if (mbit) {
        const cdp = await page.context().newCDPSession(page);
        await cdp.send('Network.enable');
        const bytesPerSecond = (mbit * 1e6) / 8;
        await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: bytesPerSecond, uploadThroughput: bytesPerSecond });
      }
      await page.goto(url);
      await settled(page);
      const readyAt = await page.evaluate(() => window.benchReadyAt);
      const loaded = await page.$eval('#data-facts div:last-child dd', (e) => e.textContent);
      r.load.push(loadMs(loaded));
      r.ready.push(Math.round(readyAt));
      console.log(`round ${round} ${r.dist}: ${loaded}, navigation to dataset ready ${readyAt.toFixed(0)} ms`);
      await page.context().close();
    }
  }
  const where = `${mbit ? `${mbit} Mbit/s` : 'loopback'}, ${isolated ? 'isolated' : 'not isolated'}`;
  for (const r of results) {
    console.log(`${r.dist} (${where}): the worker's fetch + decode + checks, ms: ${r.load.join(' ')}; median ${median(r.load)}; navigation to dataset ready, ms: ${r.ready.join(' ')}; median ${median(r.ready)}`);
  }
} finally {
  await browser.close();
  servers.forEach((s) => s.close());
}
