// The end-to-end tests, by name. Each gets { browser, base, artifacts }.
import assert from 'node:assert/strict';
import path from 'node:path';
import { openPage, gpuProblems } from './browser.mjs';

const READY = '#dataset[data-state="ready"]';
const FAILED = '#dataset[data-state="failed"]';

async function datasetReady(page, timeout = 120_000) {
  await page.waitForFunction(() => ['ready', 'failed'].includes(document.querySelector('#dataset')?.dataset.state), null, { timeout });
  const error = await page.$(FAILED);
  if (error) throw new Error(`dataset failed: ${await page.textContent('#data-error')}`);
}

export const tests = {
  async 'the page loads MNIST, shows its statistics and samples, and names the GPU'({ browser, base, artifacts }) {
    const { page, context, log } = await openPage(browser, base);
    await datasetReady(page);
    assert.equal(await page.textContent('#train-count'), '60,000');
    assert.equal(await page.textContent('#test-count'), '10,000');
    assert.equal(await page.textContent('#pixel-mean'), '0.1307');
    assert.equal(await page.textContent('#pixel-std'), '0.3081');
    assert.equal(await page.locator('#samples canvas').count(), 100);
    // The sample canvases really hold ink: some pixel of the first is bright.
    const lit = await page.$eval('#samples canvas', (c) => {
      const d = c.getContext('2d').getImageData(0, 0, 28, 28).data;
      return d.some((v, i) => i % 4 === 0 && v > 200);
    });
    assert.ok(lit, 'the first sample digit has ink');
    await page.waitForSelector('#gpu-status:not([data-state="probing"])', { timeout: 60_000 });
    const gpu = await page.textContent('#gpu-status');
    assert.match(gpu, /WebGPU/);
    await page.screenshot({ path: path.join(artifacts, 'ready.png'), fullPage: true });
    assert.deepEqual(gpuProblems(log), []);
    const foreign = log.requests.filter((u) => !u.startsWith(base) && !u.startsWith('data:') && !u.startsWith('blob:'));
    assert.deepEqual(foreign, [], 'no request leaves 127.0.0.1');
    await context.close();
  },

  async 'every kind of bad data file gives a clear error naming the file, with Retry'({ browser, base, artifacts }) {
    const cases = {
      '404': /train-images-idx3-ubyte.*HTTP 404/,
      abort: /train-images-idx3-ubyte: the download failed/,
      truncated: /train-labels-idx1-ubyte: it is truncated/,
      badmagic: /t10k-images-idx3-ubyte: its magic number is 0x00000999, expected 0x00000803/,
      mismatch: /train-images-idx3-ubyte holds 60000 images but train-labels-idx1-ubyte holds 59999 labels/,
      label: /t10k-labels-idx1-ubyte: label #1234 is 12, outside 0-9/,
      dims: /t10k-images-idx3-ubyte: its images are 32x32, expected 28x28/,
    };
    for (const [kind, expected] of Object.entries(cases)) {
      const { page, context, log } = await openPage(browser, `${base}?data=/faults/${kind}/`);
      await page.waitForSelector(FAILED, { timeout: 60_000 });
      const text = await page.textContent('#data-error');
      assert.match(text, expected, `${kind}: ${text}`);
      assert.ok(await page.isVisible('#retry'), `${kind}: a Retry button`);
      if (kind === 'badmagic') await page.screenshot({ path: path.join(artifacts, 'data-error.png') });
      assert.deepEqual(log.errors, [], `${kind}: no uncaught errors`);
      await context.close();
    }
  },

  async 'Retry after a failed download loads the dataset'({ browser, base }) {
    const { page, context } = await openPage(browser, `${base}?data=/faults/once404/`);
    await page.waitForSelector(FAILED, { timeout: 60_000 });
    await page.click('#retry');
    await datasetReady(page);
    assert.equal(await page.textContent('#train-count'), '60,000');
    await context.close();
  },
};
