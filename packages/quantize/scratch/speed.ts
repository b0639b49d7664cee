import { blockGeometry, quantizeBlocks, dequantizeBlocks } from '../src/block-quant.js';
const N = 5632, K = 2048;
const w = new Float32Array(N * K); let s = 1; for (let i = 0; i < w.length; i++) { s = (s * 1103515245 + 12345) >>> 0; w[i] = ((s >>> 8) / (1 << 24) - 0.5) * 0.1; }
for (const bits of [4, 8] as const) for (const sym of [true, false]) for (const bs of [32, 128]) {
  const g = blockGeometry(N, K, bits, bs, true);
  let best = Infinity, q;
  for (let r = 0; r < 7; r++) { const t0 = performance.now(); q = quantizeBlocks(w, g, sym, true, 'x', undefined); best = Math.min(best, performance.now() - t0); }
  let bd = Infinity; for (let r = 0; r < 3; r++) { const t1 = performance.now(); dequantizeBlocks(q!, g); bd = Math.min(bd, performance.now() - t1); }
  console.log(`bits=${bits} sym=${sym} bs=${bs}: quant ${(N * K / best / 1e3).toFixed(0)} M/s, dequant ${(N * K / bd / 1e3).toFixed(0)} M/s`);
}
