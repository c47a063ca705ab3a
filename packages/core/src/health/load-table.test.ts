import { describe, expect, it } from 'vitest';
import { normalizeEndpoint } from '../endpoint.js';
import { EndpointRecord } from './endpoint-record.js';
import { LoadTable } from './load-table.js';
import { recordSettings } from '../test-support/records.js';

const settings = { ...recordSettings, faultLogSize: 4 };
const record = (table: LoadTable, id: string): EndpointRecord =>
  new EndpointRecord(normalizeEndpoint(id, 'e'), settings, 0, table);

describe('LoadTable', () => {
  it('keeps each record its own row as the table grows', () => {
    const table = new LoadTable(10_000, 1000, 2);
    const records = Array.from({ length: 50 }, (_, i) => record(table, `e${i}:1`));
    records.forEach((r, i) => {
      r.inflight = i;
      r.recordLatency(0, i + 0.5);
    });
    records.forEach((r, i) => {
      expect(r.inflight).toBe(i);
      expect(r.peakLatencyMs).toBe(i + 0.5);
    });
  });

  it('reuses a released row, reset, and releases a row only once', () => {
    const table = new LoadTable(10_000, 1000, 4);
    const a = record(table, 'a:1');
    a.inflight = 3;
    a.recordLatency(0, 9);
    a.release();
    a.release();
    const b = record(table, 'b:1');
    const c = record(table, 'c:1');
    expect(b.slot).toBe(a.slot);
    expect(c.slot).not.toBe(a.slot);
    expect(b.inflight).toBe(0);
    expect(Number.isNaN(b.peakLatencyMs)).toBe(true);
  });
});
