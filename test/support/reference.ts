import path from 'node:path';

/**
 * The upstream wire-format examples: `shared/reference` beside the repository (as laid out for
 * development and CI), or WID_REFERENCE_DIR.
 */
export function referenceDir(...parts: string[]): string {
  const base = process.env.WID_REFERENCE_DIR ?? path.resolve(__dirname, '../../../shared/reference');
  return path.join(base, ...parts);
}
