/** While a step waits out Azure's replication or propagation, the approval message says what for, on that step's line. */
import { approvalMessage } from '../../../src/slack/blocks/approval';
import { withEvent } from '../../../src/slack/progress';
import { WAITING_FOR_CREDENTIAL, WAITING_FOR_IDENTITY, waitingText } from '../../../src/provision/verify';
import type { WidRequest } from '../../../src/domain/types';
import { validateBlocks } from '../../emulators/slack/blocks';
import { request } from './fixtures';

function provisioning(): WidRequest {
  const r = request();
  const at = r.createdAt;
  return {
    ...r,
    state: 'provisioning',
    steps: (['identity', 'roleAssignment', 'federatedCredential', 'serviceAccount'] as const).map((step) => ({ step, outcome: 'done' as const, startedAt: at, endedAt: at, detail: 'ok' })),
  };
}

test.each([
  ['AADSTS700016', WAITING_FOR_IDENTITY],
  ['AADSTS70021', WAITING_FOR_CREDENTIAL],
  ['AADSTS700213', WAITING_FOR_CREDENTIAL],
])('a running verify step waiting on %s shows “%s” on the token exchange line, within Block Kit limits', (code, text) => {
  expect(waitingText(code)).toBe(text);
  const r = withEvent(provisioning(), { requestId: 'x', step: 'verify', outcome: 'running', at: new Date().toISOString(), detail: waitingText(code) });
  const msg = approvalMessage(r);
  const shown = JSON.stringify(msg.blocks);
  expect(shown).toContain(`:hourglass_flowing_sand: Token exchange check — ${text}`);
  expect(validateBlocks(msg.blocks, 'message')).toEqual([]);
  // once done, the waiting text gives way to the step's result
  const done = withEvent(r, { requestId: 'x', step: 'verify', outcome: 'done', at: new Date().toISOString(), detail: 'Entra ID issued a token' });
  expect(JSON.stringify(approvalMessage(done).blocks)).not.toContain(text);
});
