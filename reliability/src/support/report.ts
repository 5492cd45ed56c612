/**
 * Prints what a reliability test observed (counts, error kinds, timings) when `REL_REPORT=1`, so the
 * figures in docs/reliability.md can be reproduced. Silent otherwise: tests judge by assertions.
 */
export function report(title: string, data: unknown): void {
  if (process.env.REL_REPORT !== '1') return;
  console.log(`[reliability] ${title}: ${JSON.stringify(data)}`);
}
