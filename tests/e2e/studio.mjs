// Driving the studio's page: the steps the end-to-end tests and the benchmarks share.

/**
 * Wait until the dataset is in; throws with the page's message if it failed, unless `failed`
 * is true (a test that expects the failure): then either outcome returns.
 */
export async function datasetReady(page, { timeout = 120_000, failed = false } = {}) {
  await page.waitForFunction(() => ['ready', 'failed'].includes(document.querySelector('#dataset')?.dataset.state), null, { timeout });
  if (!failed && await page.$('#dataset[data-state="failed"]')) throw new Error(`dataset failed: ${await page.textContent('#data-error')}`);
}

/**
 * Wait until a training worker is up with the dataset loaded and its backend chosen. The
 * page may replace its first worker by the threaded build (isolated page, CPU backend), or
 * by another on the user's choice; `#training[data-ready]` is true only once the one that
 * will train is ready. Options as for `datasetReady`.
 */
export async function settled(page, { timeout = 120_000, failed = false } = {}) {
  await page.waitForFunction(() => document.querySelector('#training')?.dataset.ready === 'true'
    || document.querySelector('#dataset')?.dataset.state === 'failed', null, { timeout });
  await datasetReady(page, { timeout, failed });
}

/** Pick the backend and wait until a worker for it is ready. */
export async function chooseBackend(page, backend) {
  await settled(page);
  if (await page.$eval('#backend', (s) => s.value) !== backend) await page.selectOption('#backend', backend);
  await page.waitForFunction((b) => document.querySelector('#backend')?.value === b, backend, { timeout: 120_000 });
  await settled(page);
}

/**
 * Choose the CPU thread count (Speed and robustness panel) and wait for its worker and its
 * dataset (`{ failed: true }`: a dataset that failed is an outcome, not an error).
 */
export async function chooseThreads(page, threads, { failed = false } = {}) {
  await page.$eval('#bench', (d) => { d.open = true; });
  await page.waitForSelector('#threads:not([disabled])', { timeout: 120_000 });
  await page.selectOption('#threads', String(threads));
  await page.waitForFunction((n) => document.querySelector('#threads-status')?.dataset.threads === String(n), threads, { timeout: 120_000 });
  await settled(page, { failed });
}

/**
 * One measurement in the Speed and robustness panel (open it first: `chooseThreads` does):
 * click Measure, wait for its row and for the button to be free again. Returns that row's
 * data (network, backend, threads, ms, ...).
 */
export async function measureSpeed(page) {
  const before = await page.locator('#bench-results tbody tr').count();
  await page.click('#bench-run');
  await page.waitForFunction((n) => document.querySelectorAll('#bench-results tbody tr').length > n, before, { timeout: 1_800_000 });
  await page.waitForFunction(() => document.querySelector('#bench-run').textContent === 'Measure', null, { timeout: 1_800_000 });
  return page.$eval('#bench-results tbody tr:last-child', (r) => ({ ...r.dataset }));
}

/**
 * Wait for the dataset and set up a run (not started): backend, network, training subset,
 * and, when `epochs` is given, a custom schedule of that many epochs at `lr`.
 */
export async function configureRun(page, { backend, network, subset, epochs, lr }) {
  await chooseBackend(page, backend);
  await page.selectOption('#network', network);
  await page.selectOption('#subset', subset);
  if (epochs) {
    await page.selectOption('#schedule', 'custom');
    await page.fill('#epochs', String(epochs));
    await page.dispatchEvent('#epochs', 'change');
    await page.fill('#lr', String(lr));
    await page.dispatchEvent('#lr', 'change');
  }
}

/** Wait until the service worker's offline copy holds every file its build lists. */
export async function copyComplete(page, { timeout = 120_000 } = {}) {
  await page.waitForFunction(async () => {
    await navigator.serviceWorker.ready;
    const names = (await caches.keys()).filter((n) => n.startsWith('mnist-studio-'));
    const listed = await (await fetch('sw.js')).text();
    const expected = JSON.parse(listed.match(/^const FILES = (\[.*\]);$/m)[1]).length;
    return names.length === 1 && (await (await caches.open(names[0])).keys()).length >= expected;
  }, null, { timeout, polling: 500 });
}
