import net from 'node:net';
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
});
