/**
 * RS256 JSON Web Tokens with node:crypto only: what the Kubernetes API server signs ServiceAccount
 * tokens with, and what Entra signs access tokens with.
 */
import { createHash, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

export interface PublicJwk {
  kty: 'RSA';
  use: 'sig';
  alg: 'RS256';
  kid: string;
  n: string;
  e: string;
}

export interface SigningKey {
  privateKey: KeyObject;
  kid: string;
  publicJwk: PublicJwk;
}

export type JwtClaims = Record<string, unknown>;

export interface DecodedJwt {
  header: { alg?: unknown; kid?: unknown; typ?: unknown; [k: string]: unknown };
  payload: JwtClaims;
  signingInput: string;
  signature: Buffer;
}

export function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** A fresh 2048-bit RSA key; its kid is the SHA-256 thumbprint of the public key, as the API server makes it. */
export function newSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const kid = base64url(createHash('sha256').update(der).digest());
  const jwk = publicKey.export({ format: 'jwk' }) as { n: string; e: string };
  return { privateKey, kid, publicJwk: { kty: 'RSA', use: 'sig', alg: 'RS256', kid, n: jwk.n, e: jwk.e } };
}

export function signJwt(payload: JwtClaims, key: SigningKey, extraHeader: Record<string, string> = {}): string {
  const header = { alg: 'RS256', kid: key.kid, ...extraHeader };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  const signature = sign('RSA-SHA256', Buffer.from(signingInput), key.privateKey);
  return `${signingInput}.${base64url(signature)}`;
}

/** Split and parse a compact JWS; undefined when it is not one. */
export function decodeJwt(token: string): DecodedJwt | undefined {
  const [h, p, sig, ...rest] = token.split('.');
  if (h === undefined || p === undefined || sig === undefined || rest.length > 0) return undefined;
  try {
    const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as unknown;
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as unknown;
    if (!isObject(header) || !isObject(payload)) return undefined;
    return { header, payload, signingInput: `${h}.${p}`, signature: Buffer.from(sig, 'base64url') };
  } catch {
    return undefined;
  }
}

/** True when the token is RS256 and its signature verifies with this public JWK. */
export function verifyRs256(decoded: DecodedJwt, jwk: { kty?: unknown; n?: unknown; e?: unknown }): boolean {
  if (decoded.header.alg !== 'RS256' || jwk.kty !== 'RSA' || typeof jwk.n !== 'string' || typeof jwk.e !== 'string') return false;
  try {
    const key = createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e }, format: 'jwk' });
    return verify('RSA-SHA256', Buffer.from(decoded.signingInput), key, decoded.signature);
  } catch {
    return false;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
