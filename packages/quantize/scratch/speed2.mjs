// compare: micro v4 (inline) vs kernel, same process, same data
import { blockGeometry, quantizeBlocks } from './bq.mjs';
const N = 5632, K = 2048, n = N * K;
const w = new Float32Array(n); let s = 1; for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) >>> 0; w[i] = ((s >>> 8) / (1 << 24) - 0.5) * 0.1; }
function time(name, f) { f(); let best = Infinity; for (let r = 0; r < 9; r++) { const t0 = performance.now(); f(); best = Math.min(best, performance.now() - t0); } console.log(name, (n / best / 1e3).toFixed(0), "M/s"); }
const bs = 32; const out = new Uint8Array(n / 2);
function v4() { let o = 0; for (let st = 0; st < n; st += bs) { let mn = Infinity, mx = -Infinity, s0 = 0; const end = st + bs;
  for (let i = st; i < end; i++) { const v = w[i]; if (v < mn) mn = v; if (v > mx) mx = v; s0 += v; }
  if (!Number.isFinite(s0)) throw 1;
  const m = Math.abs(mx) > Math.abs(mn) ? mx : mn; const scale = Math.fround(-m / 8); const inv = Math.fround(1 / scale); const bias = 8.5;
  for (let i = st; i < end; i += 2) { const t0 = (w[i] * inv + bias) | 0, t1 = (w[i + 1] * inv + bias) | 0; out[o++] = (t0 - (t0 >> 4)) | ((t1 - (t1 >> 4)) << 4); } } }
const g = blockGeometry(N, K, 4, 32, true);
for (let k = 0; k < 2; k++) { time('v4', v4); time('kernel', () => quantizeBlocks(w, g, true, true, 'x', undefined)); }
