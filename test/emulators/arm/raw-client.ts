/**
 * A bare HTTPS client for the ARM emulator, for tests that must send what the SDK never would
 * (no token, no api-version, names the SDK refuses) or read raw headers.
 */
import { request } from 'node:https';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON, or undefined for an empty body. */
  body: unknown;
}

export interface RawRequest {
  method: string;
  /** Path with query, e.g. `/subscriptions/s/…?api-version=2024-11-30`. */
  path: string;
  body?: unknown;
  /** Bearer token; `null` sends no Authorization header. Default `test-token`. */
  token?: string | null;
  headers?: Record<string, string>;
}

export function armRequest(baseUrl: string, ca: string, req: RawRequest): Promise<RawResponse> {
  // Concatenated, not resolved: a path starting with `//` must reach the server as sent.
  const url = new URL(baseUrl + req.path);
  const text = req.body === undefined ? undefined : JSON.stringify(req.body);
  const headers: Record<string, string> = { accept: 'application/json', ...(req.headers ?? {}) };
  const token = req.token === undefined ? 'test-token' : req.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (text !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(text));
  }
  return new Promise((resolve, reject) => {
    const r = request(url, { method: req.method, headers, ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: raw ? (JSON.parse(raw) as unknown) : undefined });
        } catch (e) {
          reject(new Error(`non-JSON response ${res.statusCode}: ${raw.slice(0, 200)} (${(e as Error).message})`));
        }
      });
      res.on('error', reject);
    });
    r.on('error', reject);
    if (text !== undefined) r.write(text);
    r.end();
  });
}
