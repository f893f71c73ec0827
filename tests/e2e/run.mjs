// End-to-end tests: the built app (dist/) served on 127.0.0.1, driven in headless Chromium.
// usage: node tests/e2e/run.mjs dist [name-filter]
import fs from 'node:fs';
import path from 'node:path';
import { startServer } from './server.mjs';
import { cspViolations, launch } from './browser.mjs';
import { tests } from './tests.mjs';

const [root = 'dist', filter = ''] = process.argv.slice(2);
const artifacts = path.resolve('target/e2e');
fs.mkdirSync(artifacts, { recursive: true });

const server = await startServer(root);
const base = `http://127.0.0.1:${server.address().port}/`;
const browser = await launch();
let failed = 0;
let ran = 0;
for (const [name, test] of Object.entries(tests)) {
  if (!name.includes(filter)) continue;
  ran += 1;
  const started = Date.now();
  const violationsBefore = cspViolations.length;
  try {
    await test({ browser, base, artifacts, root });
    const violations = cspViolations.slice(violationsBefore);
    if (violations.length) throw new Error(`Content-Security-Policy violations:\n${violations.join('\n')}`);
    console.log(`ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)\n     ${String(e.stack ?? e).split('\n').join('\n     ')}`);
  }
}
await browser.close();
server.close();
// A filter (a plain substring of the test's name) that matches nothing has tested nothing.
if (!ran) console.log(`no end-to-end test's name contains "${filter}"`);
else console.log(failed ? `${failed} end-to-end test(s) failed` : `all ${ran} end-to-end tests passed`);
console.log(`screenshots in ${artifacts}`);
process.exit(failed || !ran ? 1 : 0);
