// Issue 9's check in the browser (a measurement, not a test: it takes minutes per seed): the
// notebook's VGG-like + augmentation recipe through its jump from lr 0.01 to 0.1, at several
// seeds, in the page as a user runs it (CPU backend, the threaded build on an isolated page,
// every thread), printing the loss the page reports (a mean over 25 steps) through epoch 1's
// end and the first `--steps` steps of epoch 2, and whether the run diverged. Natively the
// same check is `train --network vgg-augmented --seed S` (results/cpu/keras-clip.txt).
// usage: node tests/e2e/lr-jump.mjs dist [--seeds=42,1,2,3,4] [--steps=400|all] [--minutes=20]
import { startServer } from './server.mjs';
import { launch, openPage } from './browser.mjs';
import { configureRun } from './studio.mjs';

const [root = 'dist', ...flags] = process.argv.slice(2);
const option = (name, fallback) => flags.find((f) => f.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const SEEDS = option('seeds', '42,1,2,3,4').split(',').map(Number);
const STEPS = Number(option('steps', '400'));
// --steps=all follows each run to its end (the whole schedule), for up to --minutes.
const MINUTES = Number(option('minutes', '20'));

const server = await startServer(root);
const base = `http://127.0.0.1:${server.address().port}/`;
const browser = await launch();
console.log(`# VGG-like + augmentation, the notebook's schedule, CPU backend in headless Chromium; ${new Date().toISOString()}`);
const summary = [];
try {
  for (const seed of SEEDS) summary.push(await one(seed));
} finally {
  await browser.close();
  server.close();
}
console.log('\n## summary');
for (const s of summary) console.log(s);

async function one(seed) {
  const { page, context, log } = await openPage(browser, base);
  await configureRun(page, { backend: 'cpu', network: 'vgg-augmented', subset: '0' });
  await page.selectOption('#schedule', 'notebook');
  await page.fill('#seed', String(seed));
  await page.dispatchEvent('#seed', 'input');
  const threads = await page.$eval('#threads-status', (e) => e.dataset.threads).catch(() => '?');
  await page.click('#start');
  console.log(`\n## seed ${seed} (${threads} thread(s))`);
  const seen = new Map(); // "epoch:step" -> loss
  const started = Date.now();
  let end = 'running';
  let eased = '';
  for (;;) {
    const s = await page.evaluate(() => {
      const label = document.querySelector('label[for="epoch-progress"]')?.textContent ?? '';
      return {
        epoch: Number(label.match(/Epoch (\d+)/)?.[1] ?? 0),
        fraction: Number(document.querySelector('#epoch-progress')?.value ?? 0),
        loss: document.querySelector('#current-loss')?.textContent ?? '',
        status: document.querySelector('#run')?.dataset.status ?? '',
        text: document.querySelector('#run-status')?.textContent ?? '',
        eased: document.querySelector('.eased')?.textContent ?? '',
      };
    });
    const step = Math.round(s.fraction * 860); // 55,000 training images (5,000 held out) / 64
    // An epoch started again, easing into its rate, reports its steps anew.
    if (s.eased && !eased) console.log((eased = s.eased));
    const key = `${s.epoch}:${step}${s.eased ? ':eased' : ''}`;
    if (s.loss !== '—' && !seen.has(key) && step > 0) {
      seen.set(key, s.loss);
      console.log(`epoch ${s.epoch} step ${String(step).padStart(3)}  loss ${s.loss}`);
    }
    if (!['running', 'starting', 'paused', 'stopping'].includes(s.status) && s.status !== '') { end = `${s.status}: ${s.text}`; break; }
    if (s.epoch >= 2 && step >= STEPS) { end = `still training at epoch 2 step ${step}`; break; }
    if (Date.now() - started > MINUTES * 60_000) { end = `gave up after ${MINUTES} minutes`; break; }
    await page.waitForTimeout(250);
  }
  // The eased attempt's reports, when there was one, are the ones that count.
  const losses = [...seen.entries()].filter(([k]) => !eased || k.startsWith('1:') || k.endsWith(':eased')).map(([k, v]) => [k.split(':').map(Number), Number(v)]);
  const second = losses.filter(([[e]]) => e === 2).map(([, l]) => l);
  const firstEnd = losses.filter(([[e]]) => e === 1).at(-1)?.[1];
  const errors = [...log.errors, ...log.console.filter((m) => m.type === 'error')];
  const line = `seed ${String(seed).padEnd(3)} ${threads} thread(s) | epoch 1's last loss ${firstEnd ?? '?'} | epoch 2: first ${second[0] ?? '?'}, max ${second.length ? Math.max(...second).toFixed(4) : '?'}, last ${second.at(-1) ?? '?'} (${second.length} reports)${eased ? ' | epoch 2 eased' : ''} | ${end} | ${((Date.now() - started) / 1000).toFixed(0)} s | console errors ${errors.length}`;
  console.log(line);
  if (await page.$('#stop:not([disabled])')) await page.click('#stop');
  await context.close();
  return line;
}
