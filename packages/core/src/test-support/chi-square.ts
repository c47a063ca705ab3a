/** Pearson's χ² goodness-of-fit test, for checking that picks or draws follow their shares. */

/**
 * χ² critical values at p = 0.001 by degrees of freedom (NIST/SEMATECH e-Handbook, 1.3.6.7.4):
 * a fair sample exceeds one with probability 0.001.
 */
export const CHI2_P001: Readonly<Record<number, number>> = {
  2: 13.816,
  4: 18.467,
  6: 22.458,
  9: 27.877,
  15: 37.697,
  19: 43.82,
};

/** χ² of `counts` against shares proportional to `weights` (index by index). */
export function chiSquare(counts: readonly number[], weights: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const sum = weights.reduce((a, b) => a + b, 0);
  return counts.reduce((chi2, count, i) => {
    const expected = (total * weights[i]!) / sum;
    return chi2 + (count - expected) ** 2 / expected;
  }, 0);
}

/** χ² of `counts` against equal shares. */
export function chiSquareUniform(counts: readonly number[]): number {
  const expected = counts.reduce((a, b) => a + b, 0) / counts.length;
  return counts.reduce((chi2, count) => chi2 + (count - expected) ** 2 / expected, 0);
}
