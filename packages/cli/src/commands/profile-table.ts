/**
 * Operator timings of one generation (`bench --profile`), natively and in the browser.
 * @packageDocumentation
 */

import type { GenerationProfile } from '@tinyllama/core';

/**
 * Operator timings as text: the prompt's forward pass, then milliseconds per decode step,
 * largest first, with what the operators leave of the measured step (runner, JavaScript between
 * operators, sampling, messages).
 */
export function profileTable(p: GenerationProfile, stepMs: number, ttftMs: number): string {
  const part = (title: string, ms: Readonly<Record<string, number>>, per: number, whole: number): string => {
    const rows = Object.entries(ms).map(([op, t]) => [op, t / per] as const).sort((a, b) => b[1] - a[1]);
    const timed = rows.reduce((n, [, t]) => n + t, 0);
    const lines = rows.map(([op, t]) => `  ${op.padEnd(32)} ${t.toFixed(3).padStart(9)} ms  ${((100 * t) / whole).toFixed(1).padStart(5)}%\n`);
    lines.push(`  ${'(outside operators)'.padEnd(32)} ${(whole - timed).toFixed(3).padStart(9)} ms  ${((100 * (whole - timed)) / whole).toFixed(1).padStart(5)}%\n`);
    return `${title}\n${lines.join('')}`;
  };
  return (
    part(`profile, first token (${ttftMs.toFixed(1)} ms):`, p.prefill, 1, ttftMs) +
    (p.decodeSteps > 0 ? part(`profile, per decode step (${stepMs.toFixed(2)} ms, ${p.decodeSteps} steps):`, p.decode, p.decodeSteps, stepMs) : '')
  );
}
