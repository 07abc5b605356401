// A tiny PNG encoder for the mock server's canned images (RGB, no dependencies besides zlib).

import { deflateSync } from "node:zlib";

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** Encodes an RGB pixel buffer (width*height*3 bytes). */
export function encodePng(width, height, rgb) {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0;
    rgb.copy(raw, y * (width * 3 + 1) + 1, y * width * 3, (y + 1) * width * 3);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

/** A plot-like picture: white background, axes, and one curve per function. */
export function plotPng(fns, { width = 640, height = 400 } = {}) {
  const rgb = Buffer.alloc(width * height * 3, 255);
  const set = (x, y, [r, g, b]) => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const i = (y * width + x) * 3;
    rgb[i] = r;
    rgb[i + 1] = g;
    rgb[i + 2] = b;
  };
  const left = 60, right = width - 20, top = 20, bottom = height - 40;
  for (let x = left; x <= right; x++) set(x, bottom, [60, 60, 60]);
  for (let y = top; y <= bottom; y++) set(left, y, [60, 60, 60]);
  const colors = [[31, 119, 180], [255, 127, 14], [44, 160, 44]];
  fns.forEach((f, k) => {
    let prev = null;
    for (let px = left; px <= right; px++) {
      const t = (px - left) / (right - left);
      const v = f(t); // in [0, 1]
      const py = Math.round(bottom - v * (bottom - top));
      const from = prev ?? py;
      for (let y = Math.min(from, py); y <= Math.max(from, py); y++) for (let d = -1; d <= 1; d++) set(px, y + d, colors[k % colors.length]);
      prev = py;
    }
  });
  return encodePng(width, height, rgb);
}
