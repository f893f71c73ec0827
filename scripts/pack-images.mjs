// Write an MNIST image file (IDX) with its zero pixels packed apart, the form the page's
// Brotli copy holds (src/data/packed.rs says why and defines it): magic "MNZ" 1, the IDX
// header as it is, a mask of 32 bits per 28-pixel row (big-endian, bit 31 - j for pixel j),
// then every pixel that is not zero. The page unpacks it to the IDX file byte for byte; the
// native tests check that on the files setup writes.
// usage: node scripts/pack-images.mjs IN OUT
import fs from 'node:fs';

const [input, output] = process.argv.slice(2);
const idx = fs.readFileSync(input);
const HEADER = 16;
const SIDE = 28;
if (idx.readUInt32BE(0) !== 0x803 || idx.readUInt32BE(8) !== SIDE || idx.readUInt32BE(12) !== SIDE) {
  throw new Error(`${input} is not an IDX file of 28x28 images`);
}
const count = idx.readUInt32BE(4);
const pixels = idx.subarray(HEADER);
if (pixels.length !== count * SIDE * SIDE) throw new Error(`${input}: ${pixels.length} bytes of pixels for ${count} images`);

const rows = count * SIDE;
const mask = Buffer.alloc(rows * 4);
const values = Buffer.alloc(pixels.length);
let kept = 0;
for (let row = 0; row < rows; row++) {
  let word = 0;
  for (let j = 0; j < SIDE; j++) {
    const p = pixels[row * SIDE + j];
    if (p !== 0) {
      word |= 1 << (31 - j);
      values[kept++] = p;
    }
  }
  mask.writeUInt32BE(word >>> 0, row * 4);
}
fs.writeFileSync(output, Buffer.concat([Buffer.from('MNZ\x01', 'latin1'), idx.subarray(0, HEADER), mask, values.subarray(0, kept)]));
console.log(`${output}: ${idx.length} -> ${HEADER + 4 + mask.length + kept} bytes (${kept} pixels of ${pixels.length} not zero)`);
