import { describe, expect, it } from 'vitest';
import { DetourConfigError, DetourError, NoEndpointError, isDetourError } from './errors.js';

describe('errors', () => {
  it('carry a stable code, a name and the option path', () => {
    const error = new DetourConfigError(
      'health.trialCalls',
      0,
      'must be an integer from 1 to 1000',
    );
    expect(error.code).toBe('DETOUR_CONFIG');
    expect(error.name).toBe('DetourConfigError');
    expect(error.message).toBe(
      'Invalid option health.trialCalls: 0 must be an integer from 1 to 1000',
    );
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(DetourError);
    expect(new NoEndpointError()).not.toBeInstanceOf(DetourConfigError);
  });

  it('are recognised across copies of the package through the Symbol.for brand', () => {
    // What a second copy of @detour/core would produce: another class, the same registered brand.
    class OtherCopyError extends Error {
      readonly code = 'DETOUR_NO_ENDPOINT';
    }
    const foreign = new OtherCopyError('from another copy');
    Object.defineProperty(foreign, Symbol.for('detour.error'), { value: true });
    expect(isDetourError(foreign)).toBe(true);
    expect(foreign instanceof DetourError).toBe(true);
    expect(isDetourError(new Error('plain'))).toBe(false);
    expect(isDetourError(null)).toBe(false);
    expect(isDetourError('DETOUR_CONFIG')).toBe(false);
  });

  it('describe long values briefly', () => {
    const error = new DetourConfigError(
      'endpoints',
      Array.from({ length: 50 }, (_, i) => i),
      'is wrong',
    );
    expect(error.message.length).toBeLessThan(160);
  });
});
