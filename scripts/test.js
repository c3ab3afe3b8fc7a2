#!/usr/bin/env node
// Runs jest with the test world's certificate trusted process-wide (NODE_EXTRA_CA_CERTS is read only
// at start-up, so the certificate must exist before jest and its workers start). Arguments pass through.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
require('tsx/cjs');
const { createTls } = require('../test/emulators/common/tls.ts');

async function main() {
  const dir = process.env.WID_TEST_TLS_DIR || path.join(__dirname, '..', '.wid-world', 'tls');
  const tls = await createTls(dir);
  const env = { ...process.env, WID_TEST_TLS_DIR: dir, NODE_EXTRA_CA_CERTS: tls.caFile };
  const jest = require.resolve('jest/bin/jest');
  const r = spawnSync(process.execPath, [jest, ...process.argv.slice(2)], { stdio: 'inherit', env });
  process.exit(r.status === null ? 1 : r.status);
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
