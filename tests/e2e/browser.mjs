// Headless Chromium with WebGPU (SwiftShader on CPU-only machines), driven by playwright-core.
import { chromium } from 'playwright-core';

export const FLAGS = [
  '--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--enable-unsafe-swiftshader',
  '--use-webgpu-adapter=swiftshader', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/**
 * `webgpu: false`: a browser whose WebGPU finds no adapter, in the page and in its workers
 * (without the SwiftShader flags, headless Chromium here answers `requestAdapter` with null).
 */
export async function launch({ webgpu = true } = {}) {
  const args = webgpu ? FLAGS : FLAGS.filter((f) => !/webgpu|swiftshader/i.test(f));
  return chromium.launch({
    executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
    headless: true,
    args,
  });
}

/**
 * Every Content-Security-Policy violation any page or worker reported, for run.mjs to fail
 * the test during which one appeared. Chromium logs each as a console error.
 */
export const cspViolations = [];
const CSP = /Content Security Policy|Content-Security-Policy/i;

/**
 * A page with everything it says recorded: console messages (worker included), page errors,
 * and every request it makes.
 */
export async function openPage(browser, url, { viewport = { width: 1400, height: 1000 }, colorScheme = 'light', isMobile = false } = {}) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, colorScheme, isMobile, hasTouch: isMobile });
  const page = await context.newPage();
  const log = { console: [], errors: [], requests: [], browser: [] };
  // What the browser itself says about the page (preloads, canvas read-backs, deprecations):
  // not console calls, so only the DevTools protocol's Log domain carries them.
  const cdp = await context.newCDPSession(page);
  cdp.on('Log.entryAdded', ({ entry }) => log.browser.push({ level: entry.level, source: entry.source, text: entry.text, url: entry.url }));
  await cdp.send('Log.enable');
  const record = (where) => (msg) => {
    log.console.push({ where, type: msg.type(), text: msg.text() });
    if (CSP.test(msg.text())) cspViolations.push(`${where}: ${msg.text()}`);
  };
  page.on('console', record('page'));
  page.on('worker', (worker) => worker.on('console', record('worker')));
  page.on('pageerror', (e) => log.errors.push(String(e)));
  context.on('request', (r) => log.requests.push(r.url()));
  if (process.env.E2E_VERBOSE) page.on('console', (m) => console.log(`  [console.${m.type()}] ${m.text()}`));
  await page.goto(url);
  return { page, context, log };
}

/** Console messages that show a WebGPU or wgpu error, a panic, or a wasm trap. */
export function gpuProblems(log) {
  const bad = /webgpu|wgpu|gpuvalidation|shader|subgroup|panicked|unreachable|RuntimeError/i;
  return [
    ...log.errors,
    ...log.console.filter((m) => (m.type === 'error' || m.type === 'warning') && bad.test(m.text)).map((m) => `${m.where}: ${m.text}`),
  ];
}
