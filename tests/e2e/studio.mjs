// Driving the studio's page: the steps the end-to-end tests and the benchmarks share.

/** Wait until the dataset is in; throws with the page's message if it failed. */
export async function datasetReady(page, timeout = 120_000) {
  await page.waitForFunction(() => ['ready', 'failed'].includes(document.querySelector('#dataset')?.dataset.state), null, { timeout });
  if (await page.$('#dataset[data-state="failed"]')) throw new Error(`dataset failed: ${await page.textContent('#data-error')}`);
}

/** Pick the backend and wait until the worker has switched to it. */
export async function chooseBackend(page, backend) {
  await page.waitForSelector('#backend', { timeout: 60_000 });
  await page.selectOption('#backend', backend);
  await page.waitForFunction((b) => document.querySelector('#backend').value === b, backend);
}

/**
 * Wait for the dataset and set up a run (not started): backend, network, training subset,
 * and, when `epochs` is given, a custom schedule of that many epochs at `lr`.
 */
export async function configureRun(page, { backend, network, subset, epochs, lr }) {
  await datasetReady(page);
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
