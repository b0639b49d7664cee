const N = 5632, K = 2048, n = N * K;
const w = new Float32Array(n); let s = 1; for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; w[i] = (s / 2 ** 32 - 0.5) * 0.05; }
function time(name, f) { f(); let best = Infinity; for (let r = 0; r < 7; r++) { const t0 = performance.now(); f(); best = Math.min(best, performance.now() - t0); } console.log(name.padEnd(30), (n / best / 1e3).toFixed(0), "M/s"); }
const bs = 32; const out = new Uint8Array(n / 2);
function p1branch() { let acc = 0; for (let st = 0; st < n; st += bs) { let mn = Infinity, mx = -Infinity, s0 = 0, s1 = 0; const end = st + bs;
  for (let i = st; i < end; i += 2) { const v = w[i], u = w[i + 1]; if (v < mn) mn = v; if (v > mx) mx = v; if (u < mn) mn = u; if (u > mx) mx = u; s0 += v; s1 += u; } acc += mn + mx + s0 + s1; } return acc; }
function p1abs() { let acc = 0; for (let st = 0; st < n; st += bs) { let m = 0, s0 = 0; const end = st + bs;
  for (let i = st; i < end; i++) { const v = w[i]; const a = Math.abs(v); if (a > m) m = a; s0 += v; } acc += m + s0; } return acc; }
// branch-free via bit ops on float32 bits: min/max of int-mapped floats
const u32 = new Int32Array(w.buffer);
function p1int() { let acc = 0; for (let st = 0; st < n; st += bs) { let mn = 0x7fffffff, mx = -0x80000000; const end = st + bs;
  for (let i = st; i < end; i++) { const b = u32[i]; const k = b ^ ((b >> 31) & 0x7fffffff); /* monotonic int key */ const dmn = k - mn; mn += dmn & (dmn >> 31); const dmx = k - mx; mx -= dmx & ~(dmx >> 31) ? 0 : 0; mx = k > mx ? k : mx; } acc += mn + mx; } return acc; }
function p1intbf() { let acc = 0; for (let st = 0; st < n; st += bs) { let mn = 0x7fffffff, mx = -0x7fffffff; const end = st + bs;
  for (let i = st; i < end; i++) { const b = u32[i]; const k = b ^ ((b >> 31) & 0x7fffffff); let d = k - mn; mn += d & (d >> 31); d = mx - k; mx -= d & (d >> 31); } acc += mn + mx; } return acc; }
function p2() { let o = 0; const inv = 100, bias = 8.5; for (let i = 0; i < n; i += 4) { const t0 = (w[i] * inv + bias) | 0, t1 = (w[i + 1] * inv + bias) | 0, t2 = (w[i + 2] * inv + bias) | 0, t3 = (w[i + 3] * inv + bias) | 0; out[o] = (t0 - (t0 >> 4)) | ((t1 - (t1 >> 4)) << 4); out[o + 1] = (t2 - (t2 >> 4)) | ((t3 - (t3 >> 4)) << 4); o += 2; } }
for (let k = 0; k < 2; k++) { time('p1 branches', p1branch); time('p1 abs branch', p1abs); time('p1 int keys branchfree', p1intbf); time('p2', p2); }
const bits = new Int32Array(w.buffer);
function p1keys() { let acc = 0; for (let st = 0; st < n; st += bs) { let pm = 0, qm = 0; const end = st + bs;
  for (let i = st; i < end; i++) { const b = bits[i]; const a = b & 0x7fffffff; const sg = b >> 31; const dp = (a & ~sg) - pm; pm += dp & ~(dp >> 31); const dq = (a & sg) - qm; qm += dq & ~(dq >> 31); } acc += pm + qm; } return acc; }
function p1keys2() { let acc = 0; for (let st = 0; st < n; st += bs) { let pm = 0, qm = 0, pm1 = 0, qm1 = 0; const end = st + bs;
  for (let i = st; i < end; i += 2) { const b = bits[i]; const a = b & 0x7fffffff; const sg = b >> 31; const dp = (a & ~sg) - pm; pm += dp & ~(dp >> 31); const dq = (a & sg) - qm; qm += dq & ~(dq >> 31);
    const b1 = bits[i + 1]; const a1 = b1 & 0x7fffffff; const sg1 = b1 >> 31; const dp1 = (a1 & ~sg1) - pm1; pm1 += dp1 & ~(dp1 >> 31); const dq1 = (a1 & sg1) - qm1; qm1 += dq1 & ~(dq1 >> 31); }
  acc += Math.max(pm, pm1) + Math.max(qm, qm1); } return acc; }
for (let k = 0; k < 2; k++) { time('p1 keys', p1keys); time('p1 keys x2', p1keys2); }
