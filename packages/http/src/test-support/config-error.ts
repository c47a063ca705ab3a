/** Catching the configuration errors that factories throw. */
import { DetourConfigError } from '@detour/core';

/** The `DetourConfigError` that `run` throws; fails the test if it throws none or another error. */
export function configError(run: () => unknown): DetourConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof DetourConfigError) return error;
    throw error;
  }
  throw new Error('expected a DetourConfigError');
}
