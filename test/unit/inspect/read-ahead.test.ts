import { readAhead } from '../../../src/inspect/gather';

async function* source(n: number, failAfter?: number): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) {
    if (failAfter !== undefined && i === failAfter) throw new Error('page refused');
    await new Promise((r) => setImmediate(r));
    yield i;
  }
}

describe('identity pages read ahead of their consumer', () => {
  it('pulls the whole source while the consumer is still on its first item, and yields everything in order', async () => {
    let pulled = 0;
    let ended = false;
    const seen: number[] = [];
    for await (const i of readAhead(source(50), () => pulled++, () => (ended = true))) {
      if (i === 0) {
        await new Promise((r) => setTimeout(r, 50));
        expect(pulled).toBe(50);
        expect(ended).toBe(true);
      }
      seen.push(i);
    }
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('surfaces a failure of the source after the items before it, and never reports an end', async () => {
    let ended = false;
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const i of readAhead(source(10, 4), undefined, () => (ended = true))) seen.push(i);
      })(),
    ).rejects.toThrow('page refused');
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(ended).toBe(false);
  });
});
