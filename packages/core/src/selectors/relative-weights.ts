/**
 * Candidate weights scaled for the weighted selectors (`weighted-random`,
 * `weighted-round-robin`).
 */
import type { Candidate } from '../selector.js';

/**
 * Each candidate's `endpoint.weight` divided by the largest, so that the selectors' sums of
 * weights (a fallback scan's total, smooth round-robin's current weights) stay small and never
 * overflow, whatever the weights.
 */
export function relativeWeights(candidates: readonly Candidate[]): Float64Array {
  const n = candidates.length;
  const weights = new Float64Array(n);
  let max = 0;
  for (let i = 0; i < n; i++) max = Math.max(max, candidates[i]!.endpoint.weight);
  for (let i = 0; i < n; i++) weights[i] = candidates[i]!.endpoint.weight / max;
  return weights;
}
