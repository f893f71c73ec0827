// What each exported function of a wasm binary calls first, read from the binary itself (no
// name section needed, so it works on stripped release builds too). Used to check that
// wasm-ld did not wrap every export in a call to the static constructors (src/platform.rs):
// a wrapped binary's exports all begin with `call` of one and the same function.

/** Unsigned LEB128 at `at`: [value, next offset]. */
function leb(bytes, at) {
  let value = 0, shift = 0, byte;
  do {
    byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [value, at];
}

/** Skip a length-prefixed name: the offset after it. */
function skipName(bytes, at) {
  const [length, next] = leb(bytes, at);
  return next + length;
}

/** Skip a table's or memory's limits: the offset after them. */
function skipLimits(bytes, at) {
  const flags = bytes[at++];
  [, at] = leb(bytes, at);
  if (flags & 1) [, at] = leb(bytes, at);
  return at;
}

/**
 * For every exported function: the index of the function its body calls first, or null when
 * its first instruction is not a `call`.
 */
export function firstCallsOfExports(bytes) {
  if (bytes.readUInt32LE(0) !== 0x6d736100) throw new Error('not a wasm binary');
  let importedFunctions = 0;
  const exported = []; // function indices
  const bodies = []; // offset of each defined function's first instruction
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at];
    const [size, start] = leb(bytes, at + 1);
    const end = start + size;
    let p = start;
    if (id === 2) {
      let count;
      [count, p] = leb(bytes, p);
      for (let i = 0; i < count; i++) {
        p = skipName(bytes, skipName(bytes, p));
        const kind = bytes[p++];
        if (kind === 0) { importedFunctions += 1; [, p] = leb(bytes, p); }
        else if (kind === 1) p = skipLimits(bytes, p + 1);
        else if (kind === 2) p = skipLimits(bytes, p);
        else if (kind === 3) p += 2;
        else if (kind === 4) [, p] = leb(bytes, p + 1);
        else throw new Error(`import kind ${kind} not understood`);
      }
    } else if (id === 7) {
      let count;
      [count, p] = leb(bytes, p);
      for (let i = 0; i < count; i++) {
        p = skipName(bytes, p);
        const kind = bytes[p++];
        let index;
        [index, p] = leb(bytes, p);
        if (kind === 0) exported.push(index);
      }
    } else if (id === 10) {
      let count;
      [count, p] = leb(bytes, p);
      for (let i = 0; i < count; i++) {
        let bodySize;
        [bodySize, p] = leb(bytes, p);
        const next = p + bodySize;
        let groups;
        [groups, p] = leb(bytes, p);
        for (let g = 0; g < groups; g++) {
          [, p] = leb(bytes, p); // how many locals
          const type = bytes[p++];
          // (ref null? heaptype) carries a heap type after the type byte.
          if (type === 0x63 || type === 0x64) [, p] = leb(bytes, p);
        }
        bodies.push(p);
        p = next;
      }
    }
    at = end;
  }
  return exported.map((index) => {
    const body = bodies[index - importedFunctions];
    if (body === undefined || bytes[body] !== 0x10) return null;
    return leb(bytes, body + 1)[0];
  });
}

/**
 * Whether the binary looks wrapped: at least 8 exported functions, and more than 90% of them
 * begin by calling the same function.
 */
export function exportsLookWrapped(bytes) {
  const calls = firstCallsOfExports(bytes);
  const counts = new Map();
  for (const c of calls) if (c !== null) counts.set(c, (counts.get(c) ?? 0) + 1);
  const most = Math.max(0, ...counts.values());
  return { exports: calls.length, sameFirstCall: most, wrapped: calls.length >= 8 && most > 0.9 * calls.length };
}

/**
 * A valid wasm module of `count` (under 10) exported functions: with `wrapped`, as wasm-ld's
 * wrappers make them, every one begins with `call 0`; without, each calls a different
 * function first, as real exports do. The check's own control: it must flag the one and pass
 * the other.
 */
export function exampleModule(count, wrapped) {
  const section = (id, body) => [id, body.length, ...body]; // bodies stay under 128 bytes
  const functions = count + 1;
  const name = (i) => [2, 0x65, 0x30 + i]; // "e0", "e1", ... (count < 10)
  const bodies = [[2, 0, 0x0b]]; // function 0: no locals, end
  for (let i = 1; i <= count; i++) bodies.push(wrapped ? [4, 0, 0x10, 0, 0x0b] : [4, 0, 0x10, i === count ? 1 : i + 1, 0x0b]);
  return Buffer.from([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [1, 0x60, 0, 0]),
    ...section(3, [functions, ...Array(functions).fill(0)]),
    ...section(7, [count, ...Array.from({ length: count }, (_, i) => [...name(i), 0, i + 1]).flat()]),
    ...section(10, [functions, ...bodies.flat()]),
  ]);
}

// `node tests/e2e/wasm-exports.mjs FILE...`: print the figures.
if (import.meta.url === `file://${process.argv[1]}`) {
  const fs = await import('node:fs');
  for (const file of process.argv.slice(2)) console.log(file, exportsLookWrapped(fs.readFileSync(file)));
}
