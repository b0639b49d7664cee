/**
 * Memory readings for the demo page: `performance.measureUserAgentSpecificMemory()` (whole agent,
 * workers included; cross-origin isolated pages in Chromium) or the non-standard
 * `performance.memory` (this page's JS heap, Chromium).
 * @packageDocumentation
 */

/** One memory reading. */
export interface MemoryReading {
  readonly bytes: number;
  /** Which API produced it. */
  readonly source: 'measureUserAgentSpecificMemory' | 'performance.memory';
}

interface PerformanceWithMemory {
  memory?: { usedJSHeapSize: number };
  measureUserAgentSpecificMemory?: () => Promise<{ bytes: number }>;
}

/** The fast reading (`performance.memory`), or undefined when the browser has none. */
export function heapReading(): MemoryReading | undefined {
  const m = (performance as unknown as PerformanceWithMemory).memory;
  return m ? { bytes: m.usedJSHeapSize, source: 'performance.memory' } : undefined;
}

/**
 * The precise reading when available (it may take seconds: the browser waits for a garbage
 * collection), else the fast one; undefined when neither API exists.
 */
export async function measureMemory(): Promise<MemoryReading | undefined> {
  const p = performance as unknown as PerformanceWithMemory;
  if (typeof p.measureUserAgentSpecificMemory === 'function' && globalThis.crossOriginIsolated) {
    try {
      const r = await p.measureUserAgentSpecificMemory();
      return { bytes: r.bytes, source: 'measureUserAgentSpecificMemory' };
    } catch {
      // SecurityError and the like: fall back
    }
  }
  return heapReading();
}

/** `12.3 MB`-style size. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB'];
  let v = bytes / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}
