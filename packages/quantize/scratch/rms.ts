import { openCheckpoint } from '@tinyllama/loader-pytorch';
import { quantizeMatMulNBits, dequantizeMatMulNBits, quantizeGatherBlock, dequantizeGatherBlock } from '../src/index.js';
const ck = await openCheckpoint('/work/shared/fixtures/stories260k-hf');
function rms(a: Float32Array, b: Float32Array) { let n = 0, d = 0; for (let i = 0; i < b.length; i++) { n += (a[i] - b[i]) ** 2; d += b[i] ** 2; } return Math.sqrt(n / d); }
for (const bits of [4, 8] as const) for (const symmetric of [true, false]) for (const bs of [32, 64] as const) {
  let worst = 0, sum = 0, c = 0;
  for (const name of ck.names().filter((n) => n.includes('proj'))) {
    const { info, data } = await ck.getFloat32(name);
    const q = quantizeMatMulNBits(data, info.shape[0], info.shape[1], { bits, blockSize: bs, symmetric });
    const e = rms(dequantizeMatMulNBits(q), data); worst = Math.max(worst, e); sum += e; c++;
  }
  const { info, data } = await ck.getFloat32('model.embed_tokens.weight');
  const g = quantizeGatherBlock(data, info.shape[0], info.shape[1], { bits, blockSize: bs, symmetric });
  console.log(`bits=${bits} sym=${symmetric} bs=${bs}: linear rel-RMS mean ${(sum / c).toFixed(4)} worst ${worst.toFixed(4)}; embed ${rms(dequantizeGatherBlock(g), data).toFixed(4)}`);
}
await ck.close();
