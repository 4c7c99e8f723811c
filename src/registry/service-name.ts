import { RegistryError } from './errors.js';

const SERVICE_NAME = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * A service name is 1–128 characters of `[A-Za-z0-9._-]`, and not `.` or `..`:
 * it becomes one key segment and one path segment, so it can hold no `/`.
 */
export function isServiceName(name: string): boolean {
  return SERVICE_NAME.test(name) && name !== '.' && name !== '..';
}

/** @throws {RegistryError} `INVALID_SERVICE` naming the rule the name breaks */
export function assertServiceName(name: string): void {
  if (!isServiceName(name)) {
    throw new RegistryError(
      'INVALID_SERVICE',
      `invalid service name ${JSON.stringify(name.slice(0, 140))}: use 1-128 characters of A-Z a-z 0-9 . _ - (not "." or "..")`,
    );
  }
}
