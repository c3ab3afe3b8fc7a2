import path from 'node:path';

/**
 * The upstream wire-format examples the contract tests hold the emulators against, copied into the repository
 * (test/fixtures/reference, with SOURCES.md naming each file's origin and licence) so a clone stands alone.
 */
export function referenceDir(...parts: string[]): string {
  return path.resolve(__dirname, '../fixtures/reference', ...parts);
}
