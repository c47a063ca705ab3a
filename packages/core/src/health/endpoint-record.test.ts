import { describe, expect, it } from 'vitest';
import { normalizeEndpoint } from '../endpoint.js';
import { EndpointRecord } from './endpoint-record.js';
import { recordSettings } from '../test-support/records.js';

const settings = { ...recordSettings, faultLogSize: 4 };

describe('EndpointRecord latency', () => {
  it('jumps to a slower sample (peak) and decays towards faster ones', () => {
    const r = new EndpointRecord(normalizeEndpoint('a:1', 'e'), settings, 0);
    expect(Number.isNaN(r.latencyEstimate(0))).toBe(true);
    r.recordLatency(0, 10);
    r.recordLatency(100, 100);
    expect(r.peakLatencyMs).toBe(100);
    r.recordLatency(10_100, 10); // one time constant later: weight e^-1 on the old estimate
    expect(r.peakLatencyMs).toBeCloseTo(100 * Math.exp(-1) + 10 * (1 - Math.exp(-1)), 6);
  });

  it('decays the estimate on read while idle, without changing it', () => {
    const r = new EndpointRecord(normalizeEndpoint('a:1', 'e'), settings, 0);
    r.recordLatency(0, 200);
    expect(r.latencyEstimate(10_000)).toBeCloseTo(200 * Math.exp(-1), 6);
    expect(r.peakLatencyMs).toBe(200);
  });

  it('moves the plain EWMA even for samples in the same millisecond', () => {
    const r = new EndpointRecord(normalizeEndpoint('a:1', 'e'), settings, 0);
    r.recordLatency(0, 1);
    for (let i = 0; i < 200; i++) r.recordLatency(0, 50);
    expect(r.ewmaLatencyMs).toBeGreaterThan(45);
  });
});

describe('EndpointRecord decay', () => {
  it('matches Math.exp across the series cut-over', () => {
    const r = new EndpointRecord(normalizeEndpoint('a:1', 'e'), settings, 0);
    r.recordLatency(0, 1000);
    for (const elapsed of [0.001, 1, 10, 150, 199.9, 200, 200.1, 1000, 50_000]) {
      const exact = 1000 * Math.exp(-elapsed / settings.latencyDecayMs);
      expect(Math.abs(r.latencyEstimate(elapsed) - exact) / exact).toBeLessThan(1e-8);
    }
  });
});

describe('EndpointRecord failure penalty', () => {
  it('records a fast failure as at least twice the current latency estimate', () => {
    const r = new EndpointRecord(normalizeEndpoint('a:1', 'e'), settings, 0);
    r.recordOutcome(0, { kind: 'success', latencyMs: 4 });
    r.recordOutcome(1, { kind: 'error', latencyMs: 0.1 });
    expect(r.latencyEstimate(1)).toBeCloseTo(8, 2);
    r.recordOutcome(1, { kind: 'error', latencyMs: 0.1 });
    expect(r.latencyEstimate(1)).toBeCloseTo(16, 2);
    // A slow failure counts as itself.
    r.recordOutcome(1, { kind: 'timeout', latencyMs: 500 });
    expect(r.latencyEstimate(1)).toBe(500);
  });

  it('fades the part above the latency with failurePenaltyDecayMs, and a success halves it', () => {
    const r = new EndpointRecord(normalizeEndpoint('a:1', 'e'), settings, 0);
    r.recordOutcome(0, { kind: 'success', latencyMs: 4 });
    r.recordOutcome(0, { kind: 'error', latencyMs: 4 });
    r.recordOutcome(0, { kind: 'error', latencyMs: 4 });
    expect(r.latencyEstimate(0)).toBeCloseTo(16, 6); // latency 4 + penalty 12
    // One penalty time constant (1 s) later: the penalty is down to 12/e, the latency nearly 4.
    const at = settings.failurePenaltyDecayMs;
    const latency = 4 * Math.exp(-at / settings.latencyDecayMs);
    expect(r.latencyEstimate(at)).toBeCloseTo(latency + 12 * Math.exp(-1), 6);
    r.recordOutcome(at, { kind: 'success', latencyMs: 4 });
    expect(r.latencyEstimate(at)).toBeCloseTo(4 + 6 * Math.exp(-1), 6);
  });

  it('uses the failure latency itself before the first sample', () => {
    const r = new EndpointRecord(normalizeEndpoint('a:1', 'e'), settings, 0);
    r.recordOutcome(0, { kind: 'error', latencyMs: 3 });
    expect(r.latencyEstimate(0)).toBe(3);
  });
});
