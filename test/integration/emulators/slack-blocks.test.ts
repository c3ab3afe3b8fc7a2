/**
 * Block Kit limits of the Slack emulator's validator: each limit accepts exactly its maximum and
 * refuses one more, with Slack's wording and a JSON pointer to the offending field.
 */
import { BLOCK_LIMITS, validateBlocks, validateView } from '../../emulators/slack/blocks';

const plain = (text: string) => ({ type: 'plain_text', text });
const button = (over: Record<string, unknown> = {}) => ({ type: 'button', text: plain('Go'), action_id: 'go', ...over });
const options = (n: number, text = 'opt') => Array.from({ length: n }, (_, i) => ({ text: plain(text), value: `v${i}` }));
const dividers = (n: number) => Array.from({ length: n }, () => ({ type: 'divider' }));

type Case = [name: string, build: (n: number) => unknown[], limit: number, pointer: string];

const messageCases: Case[] = [
  ['blocks per message', (n) => dividers(n), 50, '/blocks'],
  ['section text', (n) => [{ type: 'section', text: { type: 'mrkdwn', text: 'a'.repeat(n) } }], 3000, '/blocks/0/text/text'],
  ['section fields', (n) => [{ type: 'section', fields: Array.from({ length: n }, () => ({ type: 'mrkdwn', text: 'f' })) }], 10, '/blocks/0/fields'],
  ['section field text', (n) => [{ type: 'section', fields: [{ type: 'mrkdwn', text: 'a'.repeat(n) }] }], 2000, '/blocks/0/fields/0/text'],
  ['header text', (n) => [{ type: 'header', text: plain('h'.repeat(n)) }], 150, '/blocks/0/text/text'],
  ['block_id', (n) => [{ type: 'divider', block_id: 'b'.repeat(n) }], 255, '/blocks/0/block_id'],
  ['action_id', (n) => [{ type: 'actions', elements: [button({ action_id: 'a'.repeat(n) })] }], 255, '/blocks/0/elements/0/action_id'],
  ['button value', (n) => [{ type: 'actions', elements: [button({ value: 'v'.repeat(n) })] }], 2000, '/blocks/0/elements/0/value'],
  ['button text', (n) => [{ type: 'actions', elements: [button({ text: plain('t'.repeat(n)) })] }], 75, '/blocks/0/elements/0/text/text'],
  [
    'context elements',
    (n) => [{ type: 'context', elements: Array.from({ length: n }, () => ({ type: 'mrkdwn', text: 'c' })) }],
    10,
    '/blocks/0/elements',
  ],
  ['actions elements', (n) => [{ type: 'actions', elements: Array.from({ length: n }, (_, i) => button({ action_id: `a${i}` })) }], 25, '/blocks/0/elements'],
  [
    'static_select options',
    (n) => [{ type: 'actions', elements: [{ type: 'static_select', action_id: 's', options: options(n) }] }],
    100,
    '/blocks/0/elements/0/options',
  ],
  [
    'option text',
    (n) => [{ type: 'actions', elements: [{ type: 'static_select', action_id: 's', options: [{ text: plain('o'.repeat(n)), value: 'v' }] }] }],
    75,
    '/blocks/0/elements/0/options/0/text/text',
  ],
  [
    'plain_text_input placeholder',
    (n) => [{ type: 'input', label: plain('L'), element: { type: 'plain_text_input', action_id: 'i', placeholder: plain('p'.repeat(n)) } }],
    150,
    '/blocks/0/element/placeholder/text',
  ],
];

describe.each(messageCases)('message: %s', (_name, build, limit, pointer) => {
  test(`${limit} is accepted`, () => {
    expect(validateBlocks(build(limit), 'message')).toEqual([]);
  });
  test(`${limit + 1} is refused at ${pointer}`, () => {
    const errors = validateBlocks(build(limit + 1), 'message');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(new RegExp(`(less than ${limit + 1} characters|no more than ${limit} items allowed) \\[json-pointer:${pointer.replace(/\//g, '\\/')}\\]$`));
  });
});

test('a modal takes 100 blocks, a message 50', () => {
  expect(validateBlocks(dividers(100), 'modal')).toEqual([]);
  expect(validateBlocks(dividers(101), 'modal')).toEqual(['no more than 100 items allowed [json-pointer:/blocks]']);
  expect(validateBlocks(dividers(51), 'message')).toEqual(['no more than 50 items allowed [json-pointer:/blocks]']);
});

test('structural mistakes Slack also refuses', () => {
  expect(validateBlocks([{ type: 'section' }], 'message')).toEqual(['must provide either text or fields [json-pointer:/blocks/0]']);
  expect(validateBlocks([{ type: 'header', text: { type: 'mrkdwn', text: 'x' } }], 'message')).toEqual([
    'must be one of plain_text [json-pointer:/blocks/0/text/type]',
  ]);
  expect(validateBlocks([{ type: 'divider', block_id: 'x' }, { type: 'divider', block_id: 'x' }], 'message')).toEqual([
    'duplicate block_id [json-pointer:/blocks/1/block_id]',
  ]);
  expect(validateBlocks([{ type: 'actions', elements: [button(), button()] }], 'message')).toEqual([
    'duplicate action_id [json-pointer:/blocks/0/elements/1/action_id]',
  ]);
  expect(validateBlocks([{ type: 'carousel' }], 'message')).toEqual(['unsupported block type for message: carousel [json-pointer:/blocks/0/type]']);
  expect(validateBlocks([{ type: 'actions', elements: [button({ style: 'loud' })] }], 'message')).toEqual([
    'must be one of primary, danger [json-pointer:/blocks/0/elements/0/style]',
  ]);
});

describe('modal views', () => {
  const modal = (over: Record<string, unknown> = {}) => ({ type: 'modal', title: plain('Request'), blocks: [], ...over });

  test('title, submit and close take 24 characters', () => {
    expect(validateView(modal({ title: plain('t'.repeat(24)), submit: plain('s'.repeat(24)), close: plain('c'.repeat(24)) }))).toEqual([]);
    expect(validateView(modal({ title: plain('t'.repeat(25)), submit: plain('s'.repeat(25)), close: plain('c'.repeat(25)) }))).toEqual([
      'must be less than 25 characters [json-pointer:/view/title/text]',
      'must be less than 25 characters [json-pointer:/view/submit/text]',
      'must be less than 25 characters [json-pointer:/view/close/text]',
    ]);
  });

  test('private_metadata takes 3000 characters; input blocks need a submit button', () => {
    expect(validateView(modal({ private_metadata: 'm'.repeat(BLOCK_LIMITS.privateMetadata) }))).toEqual([]);
    expect(validateView(modal({ private_metadata: 'm'.repeat(3001) }))).toEqual([
      'must be less than 3001 characters [json-pointer:/view/private_metadata]',
    ]);
    const input = { type: 'input', label: plain('Namespace'), element: { type: 'plain_text_input', action_id: 'ns' } };
    expect(validateView(modal({ blocks: [input] }))).toEqual([
      'submit is required when an input block is within the blocks array [json-pointer:/view]',
    ]);
    expect(validateView(modal({ blocks: [input], submit: plain('Request') }))).toEqual([]);
  });

  test('block errors point into /view/blocks', () => {
    expect(validateView(modal({ blocks: [{ type: 'header', text: plain('h'.repeat(151)) }] }))).toEqual([
      'must be less than 151 characters [json-pointer:/view/blocks/0/text/text]',
    ]);
  });
});
