const files = process.argv.slice(2);
const mods = await Promise.all(files.map((f) => import('./' + f)));
const N = 5632, K = 2048, n = N * K;
const w = new Float32Array(n); let s = 1; for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) >>> 0; w[i] = ((s >>> 8) / (1 << 24) - 0.5) * 0.1; }
const best = files.map(() => Infinity);
const gs = mods.map((m) => m.blockGeometry(N, K, 4, 32, true));
for (let round = 0; round < 12; round++) mods.forEach((m, j) => { const t0 = performance.now(); m.quantizeBlocks(w, gs[j], true, true, 'x', undefined); best[j] = Math.min(best[j], performance.now() - t0); });
files.forEach((f, j) => console.log(f, (n / best[j] / 1e3).toFixed(0), 'M/s'));
