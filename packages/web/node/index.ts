/**
 * Node-only helpers of the web demo: a static server with the cross-origin isolation headers and a
 * headless-browser benchmark (`tinyllama bench --backend chromium`).
 * @packageDocumentation
 */
export { startStaticServer, type StaticServer } from './static-server.js';
export {
  DEFAULT_CHROMIUM,
  benchPromptIds,
  buildWebApp,
  runBrowserBench,
  webPackageDir,
  type BrowserBenchOptions,
  type BrowserBenchResult,
} from './browser-bench.js';
