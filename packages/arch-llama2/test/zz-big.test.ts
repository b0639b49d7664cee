import { it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { TINYLLAMA_1_1B, buildLlamaModel, gqaAttention } from '../src/index.js';
import { hfTensorShapes, syntheticSource } from './synthetic.js';
import { Decoder } from './helpers.js';

it('big', async () => {
  const { source } = syntheticSource(hfTensorShapes(TINYLLAMA_1_1B), { dtype: 'bfloat16', readable: true });
  const model = await buildLlamaModel(source, TINYLLAMA_1_1B, { attention: gqaAttention });
  let peak = 0;
  const t0 = Date.now();
  const file = await model.writeTo('/tmp/bigllama', { onProgress: () => { peak = Math.max(peak, process.memoryUsage().rss); } });
  console.log('write s', (Date.now() - t0) / 1000, 'peak rss MB', peak / 2 ** 20);
  const t1 = Date.now();
  const s = await ort.InferenceSession.create(file, { logSeverityLevel: 3 });
  const d = new Decoder(s, TINYLLAMA_1_1B);
  const rows = await d.step([1, 450, 4996]);
  const rows2 = await d.step([17]);
  console.log('ort s', (Date.now() - t1) / 1000, rows.length, rows[2].slice(0, 3), rows2[0].slice(0, 3), Number.isFinite(rows2[0][5]));
  await s.release();
}, 600_000);
