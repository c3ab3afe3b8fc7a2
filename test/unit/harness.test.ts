import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { testTls } from '../emulators/common/tls';
import { testRedisUrl } from '../support/redis';

describe('test harness', () => {
  it('gives every run a reachable Redis of its own', async () => {
    const url = new URL(testRedisUrl());
    const reply = await new Promise<string>((resolve, reject) => {
      const s = net.connect(Number(url.port), url.hostname, () => s.write('PING\r\n'));
      s.once('data', (d) => { s.destroy(); resolve(d.toString()); });
      s.once('error', reject);
    });
    expect(reply).toBe('+PONG\r\n');
    if (!process.env.REDIS_URL) expect(url.port).not.toBe('6379');
  });

  it('makes a certificate that the test process trusts without extra options', async () => {
    const tls = await testTls();
    const server = https.createServer({ cert: tls.certPem, key: tls.keyPem }, (_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    const body = await fetch(`https://127.0.0.1:${port}/`).then((r) => r.text());
    server.closeAllConnections();
    server.close();
    expect(body).toBe('ok');
  });
});
