import { countRequests, HELPDESK_KINDS, type HelpdeskKind, type Step } from '../test/e2e/request-count.ts';

/**
 * Helpdesk requests per customer message, per helpdesk, with the shipped rules: the real gateway
 * process against each fake helpdesk (test/fakes/), which counts every request it gets. A count
 * is deterministic, so one run is the figure (no spread); the table is BENCHMARKS.md's and
 * docs/scaling.md's sizing.
 */

export interface RequestsRun {
  helpdesk: HelpdeskKind;
  steps: Step[];
}

export async function requestsBench(): Promise<RequestsRun[]> {
  const runs: RequestsRun[] = [];
  for (const helpdesk of HELPDESK_KINDS) runs.push({ helpdesk, steps: (await countRequests(helpdesk)).steps });
  return runs;
}

/** One row per kind of message, one column per helpdesk: `requests (budget)`, then what they were. */
export function requestsTable(runs: RequestsRun[]): string {
  const head = `| message | ${runs.map((r) => r.helpdesk).join(' | ')} |\n|---|${runs.map(() => '---:').join('|')}|`;
  const rows = runs[0]!.steps.map((step, i) => {
    const cells = runs.map((r) => {
      const s = r.steps[i]!;
      return `${s.requests}${s.budget !== undefined ? (s.requests <= s.budget ? ` (≤ ${s.budget})` : ` (**over ${s.budget}**)`) : ''}`;
    });
    return `| ${step.name} | ${cells.join(' | ')} |`;
  });
  const calls = runs.flatMap((r) => [`- ${r.helpdesk}`, ...r.steps.map((s) => `  - ${s.name}: ${s.calls.join(', ') || 'none'}`)]);
  return [head, ...rows, '', '(≤ n): the most the e2e test allows (test/e2e/request-budget.test.ts). The requests, in order:', '', ...calls].join('\n');
}
