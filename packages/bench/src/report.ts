/**
 * Markdown rendering of a {@link SuiteResult}: one table of medians per system, one of ratios.
 */
import type { SuiteResult } from './suite-runner.js';

function cell(x: number | null, digits: number): string {
  return x === null ? '—' : x.toFixed(digits);
}

function ratioCell(x: number | null): string {
  return x === null ? '—' : `${x.toFixed(2)}×`;
}

/** The suite's tables in GitHub markdown. */
export function formatSuiteMarkdown(r: SuiteResult): string {
  const lines: string[] = [];
  const e = r.environment;
  const commits = [...new Set(r.systems.map((s) => s.details.buildCommit).filter((c): c is string => typeof c === 'string' && c !== ''))];
  lines.push(`Medians of ${r.rounds} round${r.rounds === 1 ? '' : 's'}, ${r.date}.`);
  lines.push(`Machine: ${e.cpus} × ${e.cpuModel}, ${e.memoryGB} GB, ${e.platform}; Node ${e.node}${commits.length ? `; llama.cpp ${commits.join(', ')}` : ''}.`, '');
  lines.push('| system | prompt tok/s | first token ms | decode tok/s | peak RSS MB | load ms |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const s of r.systems) {
    const m = s.median;
    lines.push(
      `| ${s.label} | ${cell(m.promptTokensPerSecond, 1)} | ${cell(m.ttftMs, m.ttftMs !== null && m.ttftMs < 10 ? 2 : 0)} | ${cell(m.decodeTokensPerSecond, 2)} | ${cell(m.peakMemoryMB, 0)} | ${cell(m.loadMs, 0)} |`,
    );
  }
  if (r.ratios.length > 0) {
    lines.push('', 'Ratios ours / baseline (speed > 1×: ours is faster; memory < 1×: ours uses less):', '');
    lines.push('| ours | baseline | decode | prompt | memory |');
    lines.push('| --- | --- | ---: | ---: | ---: |');
    for (const q of r.ratios) lines.push(`| ${q.ours} | ${q.baseline} | ${ratioCell(q.decode)} | ${ratioCell(q.prompt)} | ${ratioCell(q.memory)} |`);
  }
  return `${lines.join('\n')}\n`;
}
