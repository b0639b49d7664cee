const N = 5632, K = 2048, n = N * K;
const w = new Float32Array(n); let s = 1; for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; w[i] = (s / 2 ** 32 - 0.5) * 0.05; }
function time(name, f) { f(); let best = Infinity; for (let r = 0; r < 5; r++) { const t0 = performance.now(); f(); best = Math.min(best, performance.now() - t0); } console.log(name.padEnd(30), (n / best / 1e3).toFixed(0), "M/s"); }
const B = new Int8Array(n); const invs = new Float64Array(N);
for (let i = 0; i < N; i++) invs[i] = 127 / 0.025;
function plain() { for (let r = 0; r < N; r++) { const inv = invs[r], row = r * K; for (let k = 0; k < K; k++) { const t = (w[row + k] * inv + 127.5) | 0; B[k * N + r] = (t > 254 ? 254 : t) - 127; } } }
function grouped(G) { return () => { for (let r0 = 0; r0 < N; r0 += G) { const g = Math.min(G, N - r0); for (let k = 0; k < K; k++) { const o = k * N + r0; for (let j = 0; j < g; j++) { const t = (w[(r0 + j) * K + k] * invs[r0 + j] + 127.5) | 0; B[o + j] = (t > 254 ? 254 : t) - 127; } } } }; }
function tiled(T) { return () => { for (let r0 = 0; r0 < N; r0 += T) for (let k0 = 0; k0 < K; k0 += T) { const r1 = Math.min(N, r0 + T), k1 = Math.min(K, k0 + T); for (let r = r0; r < r1; r++) { const inv = invs[r], row = r * K; for (let k = k0; k < k1; k++) { const t = (w[row + k] * inv + 127.5) | 0; B[k * N + r] = (t > 254 ? 254 : t) - 127; } } } }; }
for (let i = 0; i < 2; i++) { time('plain', plain); time('grouped 8', grouped(8)); time('grouped 16', grouped(16)); time('tiled 32', tiled(32)); time('tiled 64', tiled(64)); }
