// The drawn-digit measure (issue 9): how well the network in use reads digits *drawn* on the
// page, not MNIST's own images. A figure, never pass/fail.
//
// Every drawing is generated here, from hand-made stroke templates (two or three ways of
// writing each digit, as people do: a 1 with or without its flag and base, an open or a closed
// 4, a 7 with or without its bar, ...), varied at random (seeded) in size (a quarter to most of
// the pad, which also varies the pen's width relative to the digit: the pen is fixed, so a
// small digit has thick strokes once scaled to MNIST's 20x20 box), position, aspect, slant,
// rotation and a smooth hand tremor. Each is drawn as real PointerEvents on the pad, so it goes
// through the page's own canvas, preprocessing and reader, and the answer is read off the page:
// the digit shown, its (calibrated) probability, and whether the page said "Not sure", or
// that the drawing is no digit (a dot, or unlike every digit the network learned from).
// The same is done for drawings that are not digits (scribbles, letters unlike any digit, a
// dot, a dash, a question mark, a plus, a tick, a star, a spiral), to see how often the page
// admits doubt about them.
//
// usage: node tests/e2e/drawn.mjs DIST [--weights=a.weights,b.weights] [--per-digit=N]
//          [--others=N] [--seed=S] [--spread=X] [--csv=FILE] [--dump=FILE]
// With --weights, each file is loaded through the page's "Load weights file" first (else the
// default network is measured).
import fs from 'node:fs';
import path from 'node:path';
import { startServer } from './server.mjs';
import { launch, openPage } from './browser.mjs';
import { datasetReady } from './studio.mjs';

const [root = 'dist', ...flags] = process.argv.slice(2);
const flag = (name, fallback) => flags.find((f) => f.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const PER_DIGIT = Number(flag('per-digit', '30'));
const OTHERS = Number(flag('others', '120'));
const SEED = Number(flag('seed', '1'));
const WEIGHTS = flag('weights', '').split(',').filter(Boolean);
const CSV = flag('csv', '');
// The 28x28 images the network saw (the page's preview), one JSON line per drawing: kind,
// label, 784 bytes base64. For measuring other detectors offline on the same drawings.
const DUMP = flag('dump', '');
// How far drawings stray from their templates: 1 is a careful hand, 2 a hurried one.
const SPREAD = Number(flag('spread', '1'));

/** mulberry32: a small seeded generator, so a run is repeatable. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TAU = 2 * Math.PI;
const deg = (d) => (d * Math.PI) / 180;
/** Points along an ellipse from angle a0 to a1 (radians; y grows downwards, 0 is right). */
const arc = (cx, cy, rx, ry, a0, a1, n = 24) =>
  Array.from({ length: n + 1 }, (_, i) => { const a = a0 + ((a1 - a0) * i) / n; return [cx + rx * Math.cos(a), cy + ry * Math.sin(a)]; });
const curve = (f, n = 48) => Array.from({ length: n + 1 }, (_, i) => f(i / n));

/** Templates in a unit box (x right, y down): each a list of strokes, each a list of points. */
const DIGITS = {
  0: [
    [arc(0.5, 0.5, 0.42, 0.48, deg(-90), deg(280))],
    [arc(0.5, 0.5, 0.4, 0.48, deg(-60), deg(250))],
  ],
  1: [
    [[[0.5, 0.02], [0.5, 0.98]]],
    [[[0.22, 0.25], [0.55, 0.02], [0.55, 0.98]]],
    [[[0.22, 0.25], [0.55, 0.02], [0.55, 0.98]], [[0.2, 0.98], [0.85, 0.98]]],
  ],
  2: [
    [[...arc(0.5, 0.3, 0.38, 0.28, deg(200), deg(380)), [0.08, 0.98], [0.92, 0.98]]],
    [[...arc(0.5, 0.3, 0.38, 0.28, deg(190), deg(390)), [0.15, 0.9], [0.12, 0.98], [0.9, 0.96]]],
  ],
  3: [
    [[...arc(0.48, 0.27, 0.36, 0.25, deg(200), deg(450)), ...arc(0.48, 0.73, 0.42, 0.26, deg(-90), deg(160))]],
    [[[0.1, 0.02], [0.85, 0.02], [0.45, 0.42], ...arc(0.48, 0.7, 0.42, 0.28, deg(-80), deg(160))]],
  ],
  4: [
    [[[0.6, 0.0], [0.06, 0.64], [0.94, 0.64]], [[0.7, 0.28], [0.7, 1.0]]],
    [[[0.75, 1.0], [0.75, 0.0], [0.05, 0.65], [0.95, 0.65]]],
    [[[0.15, 0.0], [0.15, 0.55], [0.9, 0.55]], [[0.72, 0.0], [0.72, 1.0]]],
  ],
  5: [
    [[[0.88, 0.02], [0.25, 0.02], [0.2, 0.45], ...arc(0.5, 0.68, 0.4, 0.3, deg(230), deg(500))]],
    [[[0.25, 0.02], [0.2, 0.45], ...arc(0.5, 0.68, 0.4, 0.3, deg(230), deg(500))], [[0.25, 0.03], [0.9, 0.03]]],
  ],
  6: [
    [[[0.8, 0.0], [0.5, 0.12], [0.25, 0.38], [0.15, 0.68], ...arc(0.5, 0.72, 0.35, 0.26, deg(180), deg(-180))]],
    [[...curve((t) => [0.75 - 0.55 * Math.sin(t * Math.PI / 2), 0.02 + 0.7 * t], 16), ...arc(0.48, 0.74, 0.34, 0.24, deg(180), deg(-170))]],
  ],
  7: [
    [[[0.08, 0.02], [0.92, 0.02], [0.35, 1.0]]],
    [[[0.08, 0.02], [0.92, 0.02], [0.35, 1.0]], [[0.3, 0.5], [0.8, 0.5]]],
    [[[0.05, 0.1], [0.3, 0.0], [0.92, 0.05], ...curve((t) => [0.92 - 0.5 * t - 0.1 * Math.sin(Math.PI * t), 0.05 + 0.95 * t], 12)]],
  ],
  8: [
    [curve((t) => [0.5 + 0.36 * Math.sin(2 * TAU * t), 0.5 - 0.48 * Math.cos(TAU * t)], 64)],
    [[...arc(0.5, 0.26, 0.3, 0.24, deg(90), deg(450)), ...arc(0.5, 0.74, 0.38, 0.25, deg(-90), deg(270))]],
    [arc(0.5, 0.26, 0.3, 0.24, deg(0), deg(370)), arc(0.5, 0.74, 0.38, 0.25, deg(-90), deg(280))],
  ],
  9: [
    [[...arc(0.45, 0.3, 0.35, 0.28, 0, deg(-360)), [0.8, 0.3], [0.78, 1.0]]],
    [[...arc(0.45, 0.3, 0.35, 0.28, 0, deg(-360)), [0.8, 0.32], [0.7, 0.72], [0.45, 1.0]]],
  ],
};

/** Drawings that are not digits. Letters are ones no digit looks like (no O, I, S, Z, B, G). */
const OTHER = {
  scribble: (r) => [curve(() => [r(), r()], 14 + Math.floor(r() * 12))],
  A: () => [[[0.05, 1.0], [0.5, 0.0], [0.95, 1.0]], [[0.25, 0.6], [0.75, 0.6]]],
  E: () => [[[0.9, 0.0], [0.1, 0.0], [0.1, 1.0], [0.9, 1.0]], [[0.1, 0.5], [0.7, 0.5]]],
  H: () => [[[0.1, 0.0], [0.1, 1.0]], [[0.9, 0.0], [0.9, 1.0]], [[0.1, 0.5], [0.9, 0.5]]],
  K: () => [[[0.15, 0.0], [0.15, 1.0]], [[0.85, 0.0], [0.15, 0.55], [0.85, 1.0]]],
  M: () => [[[0.05, 1.0], [0.1, 0.0], [0.5, 0.6], [0.9, 0.0], [0.95, 1.0]]],
  W: () => [[[0.0, 0.0], [0.25, 1.0], [0.5, 0.35], [0.75, 1.0], [1.0, 0.0]]],
  X: () => [[[0.05, 0.0], [0.95, 1.0]], [[0.95, 0.0], [0.05, 1.0]]],
  R: () => [[[0.15, 1.0], [0.15, 0.0], ...arc(0.4, 0.27, 0.42, 0.27, deg(-90), deg(90), 12), [0.15, 0.54], [0.9, 1.0]]],
  question: () => [[...arc(0.5, 0.25, 0.38, 0.25, deg(190), deg(430)), [0.5, 0.72]], [[0.5, 0.95], [0.51, 0.97]]],
  plus: () => [[[0.5, 0.0], [0.5, 1.0]], [[0.0, 0.5], [1.0, 0.5]]],
  tick: () => [[[0.0, 0.55], [0.35, 1.0], [1.0, 0.0]]],
  dash: () => [[[0.0, 0.5], [1.0, 0.5]]],
  dot: () => [[[0.5, 0.5], [0.51, 0.51], [0.5, 0.52]]],
  star: () => [[0, 1, 2, 3, 4, 5].map((i) => { const a = deg(-90 + i * 144); return [0.5 + 0.5 * Math.cos(a), 0.55 + 0.5 * Math.sin(a)]; })],
  spiral: () => [curve((t) => [0.5 + 0.5 * t * Math.cos(3 * TAU * t), 0.5 + 0.5 * t * Math.sin(3 * TAU * t)], 90)],
};

/**
 * One drawing in pad fractions: the template's strokes, densified, scaled to a random size
 * and aspect, slanted, turned, placed, with a smooth tremor added.
 */
function vary(strokes, r, { aspect = 0.7 } = {}) {
  const h = 0.25 + 0.6 * r();
  const w = Math.min(0.95, h * aspect * (1 + SPREAD * 0.4 * (r() - 0.5)));
  const slant = (r() - 0.5) * 0.8 * SPREAD;
  const turn = deg((r() - 0.5) * 24 * SPREAD);
  const tremor = h * (0.01 + 0.04 * r()) * SPREAD;
  const phase = [r() * TAU, r() * TAU, r() * TAU, r() * TAU];
  const [cos, sin] = [Math.cos(turn), Math.sin(turn)];
  const placed = strokes.map((stroke) => densify(stroke, 0.02).map(([x, y], i) => {
    let px = (x - 0.5) * w + slant * (0.5 - y) * h;
    let py = (y - 0.5) * h;
    [px, py] = [px * cos - py * sin, px * sin + py * cos];
    const s = i * 0.15;
    return [px + tremor * Math.sin(s + phase[0]) * Math.cos(0.37 * s + phase[1]), py + tremor * Math.sin(0.8 * s + phase[2]) * Math.cos(0.23 * s + phase[3])];
  }));
  const xs = placed.flat().map((p) => p[0]);
  const ys = placed.flat().map((p) => p[1]);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  // Anywhere it fits, keeping the pen (about 8% of the pad wide) inside.
  const margin = 0.05;
  const ox = margin - minX + r() * Math.max(0, 1 - 2 * margin - (maxX - minX));
  const oy = margin - minY + r() * Math.max(0, 1 - 2 * margin - (maxY - minY));
  return placed.map((stroke) => stroke.map(([x, y]) => [x + ox, y + oy]));
}

/** Points no more than `step` apart along the polyline. */
function densify(points, step) {
  const out = [points[0]];
  for (let i = 1; i < points.length; i++) {
    const [[x0, y0], [x1, y1]] = [points[i - 1], points[i]];
    const n = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0) / step));
    for (let k = 1; k <= n; k++) out.push([x0 + ((x1 - x0) * k) / n, y0 + ((y1 - y0) * k) / n]);
  }
  return out;
}

function drawings() {
  const r = rng(SEED);
  const out = [];
  for (let digit = 0; digit <= 9; digit++) {
    const ways = DIGITS[digit];
    for (let i = 0; i < PER_DIGIT; i++) {
      const template = ways[i % ways.length];
      out.push({ kind: 'digit', label: String(digit), strokes: vary(template, r, { aspect: digit === 1 ? 0.35 : 0.7 }) });
    }
  }
  const names = Object.keys(OTHER);
  for (let i = 0; i < OTHERS; i++) {
    const name = names[i % names.length];
    const aspect = ['dash', 'plus', 'star', 'spiral', 'scribble', 'W', 'M'].includes(name) ? 1.0 : 0.75;
    out.push({ kind: 'other', label: name, strokes: vary(OTHER[name](r), r, { aspect }) });
  }
  return out;
}

/** Draw `strokes` on the pad as PointerEvents (after Clear) and read the page's answer. */
async function drawAndRead(page, strokes) {
  return page.evaluate(async (strokes) => {
    const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
    const pad = document.querySelector('#pad');
    const clear = document.querySelector('#clear');
    if (clear && !clear.disabled) clear.click();
    for (let i = 0; i < 100 && document.querySelector('#answer'); i++) await sleep(5);
    const r = pad.getBoundingClientRect();
    const fire = (type, [fx, fy]) => pad.dispatchEvent(new PointerEvent(type, {
      clientX: r.left + fx * r.width, clientY: r.top + fy * r.height, pointerId: 1,
      pointerType: 'pen', isPrimary: true, bubbles: true, buttons: type === 'pointerup' ? 0 : 1,
    }));
    for (const stroke of strokes) {
      fire('pointerdown', stroke[0]);
      for (const p of stroke.slice(1)) fire('pointermove', p);
      fire('pointerup', stroke.at(-1));
      await sleep(10);
    }
    // The reading of the whole drawing: wait until the answer stops changing.
    let last = '', same = 0;
    for (let i = 0; i < 400 && same < 4; i++) {
      await sleep(15);
      const answer = document.querySelector('#answer') ?? document.querySelector('#not-a-digit');
      const now = answer ? answer.textContent : '';
      same = answer && now === last ? same + 1 : 0;
      last = now;
    }
    const refused = document.querySelector('#not-a-digit');
    if (refused?.dataset.why === 'dot') return { read: 'not a digit', sure: false, top: 0, refused: true };
    const probabilities = [...document.querySelectorAll('#probabilities meter')].map((m) => Number(m.value));
    const seen = [...document.querySelector('#preview').getContext('2d').getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0)];
    // Unlike any digit (the network's detector): the bars show its guess, but no reading.
    if (refused) return { read: 'not a digit', sure: false, top: Math.max(...probabilities), refused: true, seen };
    const answer = document.querySelector('#answer');
    if (!answer) return null;
    return { read: answer.querySelector('strong').textContent, sure: answer.dataset.sure === 'true', top: Math.max(...probabilities), seen };
  }, strokes);
}

function summarise(label, results) {
  const digits = results.filter((x) => x.kind === 'digit');
  const others = results.filter((x) => x.kind === 'other');
  const pct = (n, d) => `${((100 * n) / Math.max(1, d)).toFixed(1)}%`;
  const right = digits.filter((x) => x.answer?.read === x.label);
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  console.log(`\n## ${label}`);
  console.log(`drawn digits: ${digits.length}, read right ${pct(right.length, digits.length)}; mean confidence ${pct(mean(digits.map((x) => x.answer?.top ?? 0)), 1)} (right ${pct(mean(right.map((x) => x.answer.top)), 1)}, wrong ${pct(mean(digits.filter((x) => x.answer?.read !== x.label).map((x) => x.answer?.top ?? 0)), 1)})`);
  const sureRight = digits.filter((x) => x.answer?.sure && x.answer.read === x.label).length;
  const sureWrong = digits.filter((x) => x.answer?.sure && x.answer.read !== x.label).length;
  console.log(`  said "reads as" (sure): ${pct(sureRight + sureWrong, digits.length)} of digits; of those wrong: ${pct(sureWrong, sureRight + sureWrong)}; wrong at 90% or more: ${digits.filter((x) => x.answer && !x.answer.refused && x.answer.read !== x.label && x.answer.top >= 0.9).length}`);
  const perDigit = Object.keys(DIGITS).map((d) => { const xs = digits.filter((x) => x.label === d); return `${d}: ${pct(xs.filter((x) => x.answer?.read === d).length, xs.length)}`; });
  console.log(`  per digit: ${perDigit.join('  ')}`);
  console.log(`  digits said to be no digit ("does not look like a digit", or a dot): ${pct(digits.filter((x) => x.answer?.refused).length, digits.length)}`);
  console.log(`not digits: ${others.length}; shown "Not sure", or said to be no digit: ${pct(others.filter((x) => x.answer && !x.answer.sure).length, others.length)}; mean confidence ${pct(mean(others.map((x) => x.answer?.top ?? 0)), 1)}`);
  const perOther = Object.keys(OTHER).map((n) => { const xs = others.filter((x) => x.label === n); return `${n}: ${xs.filter((x) => x.answer && !x.answer.sure).length}/${xs.length}`; });
  console.log(`  flagged per kind: ${perOther.join('  ')}`);
}

const server = await startServer(root);
const base = `http://127.0.0.1:${server.address().port}/`;
const browser = await launch();
const set = drawings();
console.log(`# drawn-digit measure: ${set.filter((x) => x.kind === 'digit').length} digits, ${set.filter((x) => x.kind === 'other').length} other drawings, seed ${SEED}, spread ${SPREAD}, ${new Date().toISOString()}`);
const rows = [];
for (const file of WEIGHTS.length ? WEIGHTS : [null]) {
  const { page, context } = await openPage(browser, base);
  await datasetReady(page);
  await page.waitForFunction(() => document.querySelector('#reader')?.dataset.network, null, { timeout: 60_000 });
  if (file) {
    const before = await page.textContent('#reader');
    await page.setInputFiles('#upload', { name: path.basename(file), mimeType: 'application/octet-stream', buffer: fs.readFileSync(file) });
    await page.waitForSelector('#weights-note.ok', { timeout: 60_000 });
    // The note can turn before the reader's line names the loaded network: wait for the line
    // to change (a file whose header matches the default's leaves it as it was).
    await page.waitForFunction((b) => document.querySelector('#reader')?.textContent !== b, before, { timeout: 10_000 }).catch(() => {});
  }
  const reader = await page.textContent('#reader');
  const results = [];
  for (const d of set) results.push({ ...d, answer: await drawAndRead(page, d.strokes) });
  summarise(`${file ?? 'the default network'}: ${reader.trim()}`, results);
  if (DUMP) {
    const lines = results.filter((x) => x.answer?.seen).map((x) => JSON.stringify({ kind: x.kind, label: x.label, pixels: Buffer.from(x.answer.seen).toString('base64') }));
    fs.writeFileSync(DUMP, lines.join('\n') + '\n');
  }
  for (const x of results) rows.push([file ?? 'default', x.kind, x.label, x.answer?.read ?? '', x.answer?.top?.toFixed(4) ?? '', x.answer?.sure ?? ''].join(','));
  await context.close();
}
if (CSV) fs.writeFileSync(CSV, ['weights,kind,label,read,probability,sure', ...rows].join('\n') + '\n');
await browser.close();
server.close();
