/**
 * The demo page: loads a model directory in a worker, streams generated text, and shows download
 * progress, tok/s and memory. State for tests is mirrored in attributes of `#output`:
 * `data-status` (`idle` | `loading` | `ready` | `generating` | `done` | `error`), `data-ids` (the
 * generated ids, comma-separated), `data-finish-reason`, `data-cached-files`, `data-cache-failures` and `data-bundle-mode` (`resident` |
 * `streaming`, bundles only); `data-load-ms`, `data-ttft-ms` and `data-decode-tokens-per-second` (the
 * worker's timings, for benchmarks).
 * @packageDocumentation
 */
import { formatBytes, heapReading, measureMemory, type MemoryReading } from './memory.js';
import { clearModelCache } from './model-files.js';
import { chooseThreads, parseDemoParams, type DemoParams } from './params.js';
import type { GenerationSettings, PageMessage, WorkerMessage } from './protocol.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const ui = {
  modelForm: $<HTMLFormElement>('model-form'),
  modelUrl: $<HTMLInputElement>('model-url'),
  clearCache: $<HTMLButtonElement>('clear-cache'),
  files: $<HTMLDivElement>('files'),
  promptForm: $<HTMLFormElement>('prompt-form'),
  prompt: $<HTMLTextAreaElement>('prompt'),
  maxTokens: $<HTMLInputElement>('max-tokens'),
  temperature: $<HTMLInputElement>('temperature'),
  topK: $<HTMLInputElement>('top-k'),
  topP: $<HTMLInputElement>('top-p'),
  generate: $<HTMLButtonElement>('generate'),
  stop: $<HTMLButtonElement>('stop'),
  output: $<HTMLPreElement>('output'),
  stats: $<HTMLDivElement>('stats'),
  env: $<HTMLDivElement>('env'),
};

type Status = 'idle' | 'loading' | 'ready' | 'generating' | 'done' | 'error';

function setStatus(status: Status): void {
  ui.output.dataset.status = status;
  ui.generate.disabled = !(status === 'ready' || status === 'done');
  ui.stop.disabled = status !== 'generating';
}

function showError(message: string): void {
  cancelRender();
  ui.output.textContent = message;
  setStatus('error');
}

let params: DemoParams;
try {
  params = parseDemoParams(location.search);
} catch (e) {
  showError(`Bad query parameter: ${(e as Error).message}`);
  throw e;
}

const isolated = globalThis.crossOriginIsolated === true;
const threads = chooseThreads(params.threads, isolated, navigator.hardwareConcurrency, params.backend);
const ortUrl = new URL('ort/', document.baseURI).href;
ui.env.textContent =
  `${params.backend === 'ort' ? `onnxruntime-web ${params.executionProviders.join(',')}` : 'wasm kernels'}, ${threads} thread${threads === 1 ? '' : 's'}` +
  (isolated ? ' (cross-origin isolated)' : ' (not cross-origin isolated: single thread)');

ui.modelUrl.value = params.model;
ui.prompt.value = params.promptIds ? params.promptIds.join(',') : params.prompt;
ui.maxTokens.value = String(params.settings.maxNewTokens);
ui.temperature.value = String(params.settings.temperature);
ui.topK.value = String(params.settings.topK);
ui.topP.value = String(params.settings.topP);

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'tinyllama' });
const send = (m: PageMessage): void => worker.postMessage(m);

/** Per-file progress rows. */
const fileRows = new Map<string, { bar: HTMLProgressElement; label: HTMLSpanElement }>();
let memory: MemoryReading | undefined;
/** The worker's wasm kernels memory (the model's weights, KV cache, scratch), when it reports one. */
let modelMemory: number | undefined;
let run = { ids: [] as number[], start: 0, first: 0, tokPerSec: 0 };
let autorunPending = params.autorun;

function fileRow(name: string): { bar: HTMLProgressElement; label: HTMLSpanElement } {
  let row = fileRows.get(name);
  if (!row) {
    const div = document.createElement('div');
    div.className = 'file';
    const title = document.createElement('span');
    title.textContent = name;
    const bar = document.createElement('progress');
    const label = document.createElement('span');
    div.append(title, bar, label);
    ui.files.append(div);
    row = { bar, label };
    fileRows.set(name, row);
  }
  return row;
}

function load(): void {
  const modelUrl = new URL(ui.modelUrl.value || params.model, document.baseURI).href;
  ui.files.replaceChildren();
  fileRows.clear();
  cancelRender();
  ui.output.textContent = `Loading ${modelUrl} …`;
  delete ui.output.dataset.ids;
  setStatus('loading');
  send({ type: 'load', modelUrl, ortUrl, numThreads: threads, backend: params.backend, executionProviders: params.executionProviders, useCache: params.useCache, embeddingOnDemand: params.embeddingOnDemand, maxResidentChunks: params.maxResidentChunks, profile: params.profile });
}

function settings(): GenerationSettings {
  return {
    maxNewTokens: Number(ui.maxTokens.value),
    temperature: Number(ui.temperature.value),
    topK: Number(ui.topK.value),
    topP: Number(ui.topP.value),
    seed: params.settings.seed,
    ignoreEos: params.settings.ignoreEos,
  };
}

/** A prompt of the form `1,5,6` is token ids; anything else is text. */
function promptValue(): string | number[] {
  const text = ui.prompt.value;
  return /^\s*\d+(\s*,\s*\d+)*\s*$/.test(text) ? text.split(',').map((s) => Number(s.trim())) : text;
}

function generate(): void {
  cancelRender();
  ui.output.textContent = '';
  delete ui.output.dataset.ids;
  delete ui.output.dataset.finishReason;
  run = { ids: [], start: performance.now(), first: 0, tokPerSec: 0 };
  setStatus('generating');
  send({ type: 'generate', prompt: promptValue(), settings: settings() });
}

/** Streamed text not yet on the page: tokens are drawn once per animation frame, appended to one text node. */
let pendingText = '';
/** The queued animation frame that draws it (0: none). */
let renderFrame = 0;

/**
 * Draws the streamed tokens and the stats at the next animation frame. Appending to a text node (not
 * `textContent +=`, which replaces the whole text) and one update per frame keep the page's layout and
 * raster work small: on a 2-core machine it competes with the kernels' threads.
 */
function scheduleRender(): void {
  if (renderFrame) return;
  renderFrame = requestAnimationFrame(() => {
    renderFrame = 0;
    if (pendingText) {
      const last = ui.output.lastChild;
      if (last instanceof Text) last.appendData(pendingText);
      else ui.output.append(pendingText);
      pendingText = '';
    }
    memory = heapReading() ?? memory;
    renderStats();
  });
}

/** Drops streamed text not drawn yet (a new run, or the final text replacing it). */
function cancelRender(): void {
  cancelAnimationFrame(renderFrame);
  renderFrame = 0;
  pendingText = '';
}

function renderStats(extra = ''): void {
  const n = run.ids.length;
  const parts = [`${n} token${n === 1 ? '' : 's'}`];
  if (run.first) parts.push(`first token ${(run.first - run.start).toFixed(0)} ms`);
  if (run.tokPerSec) parts.push(`${run.tokPerSec.toFixed(1)} tok/s`);
  if (modelMemory !== undefined) {
    // the model's own memory, plus this page's JS heap when the browser says
    const heap = memory?.source === 'performance.memory' ? ` + page JS heap ${formatBytes(memory.bytes)}` : '';
    parts.push(`memory: model ${formatBytes(modelMemory)} (wasm)${heap}`);
  } else if (memory) parts.push(`memory ${formatBytes(memory.bytes)} (${memory.source})`);
  ui.stats.textContent = parts.join(' · ') + extra;
}

async function refreshMemory(extra = ''): Promise<void> {
  if (!params.measureMemory) return;
  // with the model's own figure, only the page's heap is read: Chromium's whole-agent reading counts
  // the shared wasm memory's address-space reservation (~3.5 GB), not the bytes in use
  memory = (modelMemory !== undefined ? heapReading() : await measureMemory()) ?? memory;
  renderStats(extra);
}

worker.onmessage = (event: MessageEvent<WorkerMessage>) => {
  const m = event.data;
  switch (m.type) {
    case 'progress': {
      const row = fileRow(m.file);
      if (m.total) {
        row.bar.max = m.total;
        row.bar.value = m.loaded;
      } else {
        row.bar.removeAttribute('value'); // indeterminate
      }
      row.label.textContent = m.fromCache ? `${formatBytes(m.loaded)} (cache)` : `${formatBytes(m.loaded)}${m.total ? ` / ${formatBytes(m.total)}` : ''}`;
      break;
    }
    case 'ready':
      modelMemory = m.modelMemoryBytes;
      if (modelMemory === undefined) delete ui.output.dataset.modelMemory;
      else ui.output.dataset.modelMemory = String(modelMemory);
      ui.output.dataset.cachedFiles = m.cachedFiles.join(',');
      ui.output.dataset.loadMs = String(m.loadMs);
      ui.output.dataset.kvCache = m.kvCache;
      if (m.kernels === undefined) delete ui.output.dataset.kernels;
      else ui.output.dataset.kernels = m.kernels;
      ui.output.textContent = '';
      ui.stats.textContent = `Model ready: ${formatBytes(m.modelBytes)} (${m.cachedFiles.length ? `${m.cachedFiles.length} file(s) from the cache` : 'downloaded'}), ` +
        `loaded in ${m.loadMs.toFixed(0)} ms, vocabulary ${m.vocabSize}, context ${m.contextLength}` +
        (m.cacheFailures.length ? `. Not cached (downloaded again next time): ${m.cacheFailures.join('; ')}` : '');
      ui.output.dataset.cacheFailures = m.cacheFailures.join('; ');
      ui.output.dataset.stalledReads = (m.stalledReads ?? []).join(',');
      if (m.stalledReads?.length) ui.stats.textContent += `. Cache reads that stalled and were retried: ${m.stalledReads.join(', ')}`;
      if (m.bundle) {
        ui.output.dataset.bundleMode = m.bundle.mode;
        ui.output.dataset.embedding = m.bundle.embedding;
        ui.stats.textContent += `. Bundle of ${m.bundle.chunks} layer chunks, ${m.bundle.mode}` + (m.bundle.embedding === 'loaded' ? '' : `, embedding rows read on demand (${m.bundle.embedding})`);
      } else {
        delete ui.output.dataset.bundleMode;
        delete ui.output.dataset.embedding;
      }
      if (modelMemory !== undefined) ui.stats.textContent += `. Model memory ${formatBytes(modelMemory)} (wasm)`;
      setStatus('ready');
      // the whole-page reading replaces the ready line with the stats line when it comes
      if (modelMemory === undefined) void refreshMemory();
      if (autorunPending) {
        autorunPending = false;
        generate();
      }
      break;
    case 'token': {
      const t = performance.now();
      if (!run.first) run.first = t;
      run.ids.push(m.id);
      if (run.ids.length > 1) run.tokPerSec = (run.ids.length - 1) / ((t - run.first) / 1000);
      pendingText += m.text;
      scheduleRender();
      break;
    }
    case 'done':
      cancelRender(); // a queued frame would redraw the stats without the finish reason
      run.ids = [...m.ids];
      run.tokPerSec = m.decodeTokensPerSecond;
      ui.output.textContent = m.text;
      ui.output.dataset.ids = m.ids.join(',');
      ui.output.dataset.finishReason = m.finishReason;
      ui.output.dataset.ttftMs = String(m.ttftMs);
      ui.output.dataset.decodeTokensPerSecond = String(m.decodeTokensPerSecond);
      modelMemory = m.modelMemoryBytes ?? modelMemory;
      if (modelMemory !== undefined) ui.output.dataset.modelMemory = String(modelMemory);
      if (m.profile) ui.output.dataset.profile = JSON.stringify(m.profile);
      renderStats(` · ${m.finishReason}`);
      setStatus('done');
      void refreshMemory(` · ${m.finishReason}`);
      break;
    case 'error':
      showError(`${m.code ? `[${m.code}] ` : ''}${m.message}`);
      break;
  }
};
worker.onerror = (e) => showError(`worker failed: ${e.message}`);

ui.modelForm.addEventListener('submit', (e) => {
  e.preventDefault();
  load();
});
ui.promptForm.addEventListener('submit', (e) => {
  e.preventDefault();
  generate();
});
ui.stop.addEventListener('click', () => send({ type: 'stop' }));
ui.clearCache.addEventListener('click', () => {
  void clearModelCache().then((ok) => (ui.stats.textContent = ok ? 'Model cache cleared.' : 'Nothing cached.'));
});

load();
