const [bitsArg, symArg, ...files] = process.argv.slice(2);
const bits = Number(bitsArg), sym = symArg === 'sym';
const mods = await Promise.all(files.map((f) => import('./' + f)));
const N = 5632, K = 2048, n = N * K;
const w = new Float32Array(n); let s = 1; for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; w[i] = (s / 2 ** 32 - 0.5) * 0.05; }
const best = files.map(() => Infinity);
const gs = mods.map((m) => m.blockGeometry(N, K, bits, 32, true));
for (let round = 0; round < 12; round++) mods.forEach((m, j) => { const t0 = performance.now(); m.quantizeBlocks(w, gs[j], sym, true, 'x', undefined); best[j] = Math.min(best[j], performance.now() - t0); });
files.forEach((f, j) => console.log(bits, symArg, f, (n / best[j] / 1e3).toFixed(0), 'M/s'));
