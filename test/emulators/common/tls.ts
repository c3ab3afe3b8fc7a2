/**
 * The test world's TLS: one self-signed certificate for 127.0.0.1/localhost, written to a directory
 * so that a process started later can trust it with NODE_EXTRA_CA_CERTS (MSAL inside @azure/identity
 * offers no per-client CA option).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import selfsigned from 'selfsigned';

export interface WorldTls {
  certPem: string;
  keyPem: string;
  /** Path of the PEM file to trust (the certificate itself: it is its own CA). */
  caFile: string;
}

export async function createTls(dir: string): Promise<WorldTls> {
  mkdirSync(dir, { recursive: true });
  const certFile = path.join(dir, 'ca.pem');
  const keyFile = path.join(dir, 'key.pem');
  if (existsSync(certFile) && existsSync(keyFile)) {
    return { certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8'), caFile: certFile };
  }
  const notAfter = new Date();
  notAfter.setFullYear(notAfter.getFullYear() + 1);
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'wid-bot test world' }], {
    keySize: 2048,
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', keyCertSign: true, digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  writeFileSync(certFile, pems.cert);
  writeFileSync(keyFile, pems.private, { mode: 0o600 });
  return { certPem: pems.cert, keyPem: pems.private, caFile: certFile };
}

/** The TLS material of this test run (made by jest's globalSetup), or a fresh one in `fallbackDir`. */
export async function testTls(fallbackDir?: string): Promise<WorldTls> {
  const dir = process.env.WID_TEST_TLS_DIR ?? fallbackDir;
  if (!dir) throw new Error('WID_TEST_TLS_DIR is not set and no directory was given for the test world certificate');
  return createTls(dir);
}
