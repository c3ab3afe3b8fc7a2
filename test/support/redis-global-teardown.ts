export default async function globalTeardown(): Promise<void> {
  await globalThis.__WID_TEST_REDIS__?.stop();
}
