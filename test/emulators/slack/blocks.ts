/**
 * Block Kit limits as Slack enforces them. Messages read like Slack's own
 * (`must be less than 3001 characters [json-pointer:/blocks/0/text/text]`), so a test failure shows
 * which block and field broke which rule. Pure functions: unit tests of block builders use them too.
 */

export type Surface = 'message' | 'modal' | 'home';

export const BLOCK_LIMITS = {
  blocksPerMessage: 50,
  blocksPerModal: 100,
  /** A Home tab view (views.publish), like a modal: 100 blocks. */
  blocksPerHome: 100,
  /** A whole view's JSON; beyond this views.publish answers `view_too_large` (Slack: 250 kB). */
  viewBytes: 250_000,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  headerText: 150,
  actionId: 255,
  blockId: 255,
  buttonText: 75,
  buttonValue: 2000,
  url: 3000,
  contextElements: 10,
  actionsElements: 25,
  selectOptions: 100,
  optionText: 75,
  optionValue: 150,
  optionDescription: 75,
  placeholder: 150,
  inputMaxLength: 3000,
  inputLabel: 2000,
  inputHint: 2000,
  imageAltText: 2000,
  imageTitle: 2000,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  checkboxOptions: 10,
  overflowOptions: 5,
  modalTitle: 24,
  modalButton: 24,
  privateMetadata: 3000,
  callbackId: 255,
  externalId: 255,
  /** Top-level `text` of a message; beyond this Slack answers `msg_too_long`. */
  messageText: 40000,
} as const;

const BLOCK_TYPES: Record<Surface, ReadonlySet<string>> = {
  message: new Set(['section', 'header', 'divider', 'context', 'actions', 'image', 'input', 'rich_text', 'markdown', 'file', 'video']),
  modal: new Set(['section', 'header', 'divider', 'context', 'actions', 'image', 'input', 'rich_text', 'video']),
  home: new Set(['section', 'header', 'divider', 'context', 'actions', 'image', 'input', 'rich_text', 'video']),
};

const ELEMENT_TYPES = new Set([
  'button',
  'static_select',
  'multi_static_select',
  'external_select',
  'multi_external_select',
  'users_select',
  'multi_users_select',
  'conversations_select',
  'multi_conversations_select',
  'channels_select',
  'multi_channels_select',
  'overflow',
  'plain_text_input',
  'number_input',
  'email_text_input',
  'url_text_input',
  'datepicker',
  'timepicker',
  'datetimepicker',
  'checkboxes',
  'radio_buttons',
  'image',
  'rich_text_input',
]);

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Checker {
  readonly errors: string[] = [];
  /** block_id values already seen on this surface (Slack refuses duplicates). */
  private blockIds = new Set<string>();

  fail(message: string, pointer: string): void {
    this.errors.push(`${message} [json-pointer:${pointer}]`);
  }

  maxLength(value: unknown, max: number, pointer: string, min = 0): void {
    if (value === undefined) return;
    if (typeof value !== 'string') return this.fail('must be a string', pointer);
    if (value.length > max) this.fail(`must be less than ${max + 1} characters`, pointer);
    else if (value.length < min) this.fail(`must be more than ${min - 1} characters`, pointer);
  }

  maxItems(value: unknown, max: number, pointer: string, min = 0): value is unknown[] {
    if (!Array.isArray(value)) {
      this.fail('must be an array', pointer);
      return false;
    }
    if (value.length > max) this.fail(`no more than ${max} items allowed`, pointer);
    else if (value.length < min) this.fail(`must provide at least ${min} items`, pointer);
    return true;
  }

  required(obj: Json, key: string, pointer: string): boolean {
    if (obj[key] === undefined || obj[key] === null) {
      this.fail(`missing required field: ${key}`, pointer);
      return false;
    }
    return true;
  }

  /** A text composition object: `{type: plain_text|mrkdwn, text}`. */
  text(value: unknown, max: number, pointer: string, opts: { plainOnly?: boolean; min?: number } = {}): void {
    if (!isObject(value)) return this.fail('must be a text object', pointer);
    const allowed = opts.plainOnly ? ['plain_text'] : ['plain_text', 'mrkdwn'];
    if (typeof value.type !== 'string' || !allowed.includes(value.type)) {
      this.fail(`must be one of ${allowed.join(', ')}`, `${pointer}/type`);
    }
    if (typeof value.text !== 'string') return this.fail('missing required field: text', pointer);
    this.maxLength(value.text, max, `${pointer}/text`, opts.min ?? 1);
  }

  blockId(block: Json, pointer: string): void {
    if (block.block_id === undefined) return;
    this.maxLength(block.block_id, BLOCK_LIMITS.blockId, `${pointer}/block_id`, 1);
    if (typeof block.block_id === 'string') {
      if (this.blockIds.has(block.block_id)) this.fail('duplicate block_id', `${pointer}/block_id`);
      this.blockIds.add(block.block_id);
    }
  }

  confirm(value: unknown, pointer: string): void {
    if (value === undefined) return;
    if (!isObject(value)) return this.fail('must be an object', pointer);
    this.text(value.title, BLOCK_LIMITS.confirmTitle, `${pointer}/title`, { plainOnly: true });
    this.text(value.text, BLOCK_LIMITS.confirmText, `${pointer}/text`);
    this.text(value.confirm, BLOCK_LIMITS.confirmButton, `${pointer}/confirm`, { plainOnly: true });
    this.text(value.deny, BLOCK_LIMITS.confirmButton, `${pointer}/deny`, { plainOnly: true });
  }

  option(value: unknown, pointer: string, plainOnly: boolean): void {
    if (!isObject(value)) return this.fail('must be an option object', pointer);
    this.text(value.text, BLOCK_LIMITS.optionText, `${pointer}/text`, { plainOnly });
    if (this.required(value, 'value', pointer)) this.maxLength(value.value, BLOCK_LIMITS.optionValue, `${pointer}/value`, 1);
    if (value.description !== undefined) {
      this.text(value.description, BLOCK_LIMITS.optionDescription, `${pointer}/description`, { plainOnly });
    }
  }

  options(value: unknown, max: number, pointer: string, plainOnly: boolean, min = 1): void {
    if (!this.maxItems(value, max, pointer, min)) return;
    value.forEach((o, i) => this.option(o, `${pointer}/${i}`, plainOnly));
  }

  /** An interactive or image element inside a section, actions, input or context block. */
  element(el: unknown, pointer: string, actionIds?: Set<string>): void {
    if (!isObject(el)) return this.fail('must be an element object', pointer);
    const type = el.type;
    if (typeof type !== 'string' || !ELEMENT_TYPES.has(type)) return this.fail(`unknown element type: ${String(type)}`, `${pointer}/type`);
    if (el.action_id !== undefined) {
      this.maxLength(el.action_id, BLOCK_LIMITS.actionId, `${pointer}/action_id`, 1);
      if (typeof el.action_id === 'string' && actionIds) {
        if (actionIds.has(el.action_id)) this.fail('duplicate action_id', `${pointer}/action_id`);
        actionIds.add(el.action_id);
      }
    }
    if (el.placeholder !== undefined) this.text(el.placeholder, BLOCK_LIMITS.placeholder, `${pointer}/placeholder`, { plainOnly: true });
    this.confirm(el.confirm, `${pointer}/confirm`);
    switch (type) {
      case 'button':
        this.text(el.text, BLOCK_LIMITS.buttonText, `${pointer}/text`, { plainOnly: true });
        this.maxLength(el.value, BLOCK_LIMITS.buttonValue, `${pointer}/value`);
        this.maxLength(el.url, BLOCK_LIMITS.url, `${pointer}/url`);
        if (el.style !== undefined && el.style !== 'primary' && el.style !== 'danger') {
          this.fail('must be one of primary, danger', `${pointer}/style`);
        }
        break;
      case 'static_select':
      case 'multi_static_select':
        if (el.options !== undefined) this.options(el.options, BLOCK_LIMITS.selectOptions, `${pointer}/options`, true);
        else if (el.option_groups !== undefined) this.maxItems(el.option_groups, BLOCK_LIMITS.selectOptions, `${pointer}/option_groups`, 1);
        else this.fail('must provide either options or option_groups', pointer);
        break;
      case 'overflow':
        this.options(el.options, BLOCK_LIMITS.overflowOptions, `${pointer}/options`, true, 1);
        break;
      case 'checkboxes':
      case 'radio_buttons':
        this.options(el.options, BLOCK_LIMITS.checkboxOptions, `${pointer}/options`, false);
        break;
      case 'plain_text_input':
        this.maxLength(el.initial_value, BLOCK_LIMITS.inputMaxLength, `${pointer}/initial_value`);
        for (const key of ['max_length', 'min_length'] as const) {
          const n = el[key];
          if (n !== undefined && (typeof n !== 'number' || n < 0 || n > BLOCK_LIMITS.inputMaxLength)) {
            this.fail(`must be a number between 0 and ${BLOCK_LIMITS.inputMaxLength}`, `${pointer}/${key}`);
          }
        }
        break;
      case 'image':
        this.maxLength(el.alt_text, BLOCK_LIMITS.imageAltText, `${pointer}/alt_text`, 1);
        this.maxLength(el.image_url, BLOCK_LIMITS.url, `${pointer}/image_url`);
        break;
      default:
        break;
    }
  }

  block(block: unknown, pointer: string, surface: Surface): void {
    if (!isObject(block)) return this.fail('must be a block object', pointer);
    const type = block.type;
    if (typeof type !== 'string' || !BLOCK_TYPES[surface].has(type)) {
      return this.fail(`unsupported block type for ${surface}: ${String(type)}`, `${pointer}/type`);
    }
    this.blockId(block, pointer);
    switch (type) {
      case 'section': {
        if (block.text === undefined && block.fields === undefined) {
          this.fail('must provide either text or fields', pointer);
        }
        if (block.text !== undefined) this.text(block.text, BLOCK_LIMITS.sectionText, `${pointer}/text`);
        if (block.fields !== undefined && this.maxItems(block.fields, BLOCK_LIMITS.sectionFields, `${pointer}/fields`, 1)) {
          block.fields.forEach((f, i) => this.text(f, BLOCK_LIMITS.sectionFieldText, `${pointer}/fields/${i}`));
        }
        if (block.accessory !== undefined) this.element(block.accessory, `${pointer}/accessory`, new Set());
        break;
      }
      case 'header':
        this.text(block.text, BLOCK_LIMITS.headerText, `${pointer}/text`, { plainOnly: true });
        break;
      case 'context':
        if (this.maxItems(block.elements, BLOCK_LIMITS.contextElements, `${pointer}/elements`, 1)) {
          block.elements.forEach((e, i) => {
            const p = `${pointer}/elements/${i}`;
            if (isObject(e) && e.type === 'image') this.element(e, p);
            else this.text(e, BLOCK_LIMITS.sectionText, p);
          });
        }
        break;
      case 'actions':
        if (this.maxItems(block.elements, BLOCK_LIMITS.actionsElements, `${pointer}/elements`, 1)) {
          const ids = new Set<string>();
          block.elements.forEach((e, i) => this.element(e, `${pointer}/elements/${i}`, ids));
        }
        break;
      case 'image':
        this.maxLength(block.alt_text, BLOCK_LIMITS.imageAltText, `${pointer}/alt_text`, 1);
        if (block.image_url === undefined && block.slack_file === undefined) this.fail('missing required field: image_url', pointer);
        this.maxLength(block.image_url, BLOCK_LIMITS.url, `${pointer}/image_url`);
        if (block.title !== undefined) this.text(block.title, BLOCK_LIMITS.imageTitle, `${pointer}/title`, { plainOnly: true });
        break;
      case 'input':
        this.text(block.label, BLOCK_LIMITS.inputLabel, `${pointer}/label`, { plainOnly: true });
        if (block.hint !== undefined) this.text(block.hint, BLOCK_LIMITS.inputHint, `${pointer}/hint`, { plainOnly: true });
        if (this.required(block, 'element', pointer)) this.element(block.element, `${pointer}/element`, new Set());
        break;
      default:
        break;
    }
  }

  blocks(blocks: unknown, surface: Surface, pointer: string): void {
    const max = surface === 'modal' ? BLOCK_LIMITS.blocksPerModal : surface === 'home' ? BLOCK_LIMITS.blocksPerHome : BLOCK_LIMITS.blocksPerMessage;
    if (!this.maxItems(blocks, max, pointer)) return;
    blocks.forEach((b, i) => this.block(b, `${pointer}/${i}`, surface));
  }
}

/**
 * Every Block Kit rule `blocks` breaks on this surface, each as Slack words it, with a JSON pointer
 * relative to the `blocks` array (`/blocks/3/text/text`). Empty when Slack would accept them.
 */
export function validateBlocks(blocks: unknown, surface: Surface): string[] {
  const c = new Checker();
  c.blocks(blocks, surface, '/blocks');
  return c.errors;
}

/** Every rule a modal view breaks (`views.open` / `views.update`), pointers under `/view`. */
export function validateView(view: unknown): string[] {
  const c = new Checker();
  if (!isObject(view)) {
    c.fail('must be a view object', '/view');
    return c.errors;
  }
  if (view.type !== 'modal') c.fail('must be one of modal', '/view/type');
  c.text(view.title, BLOCK_LIMITS.modalTitle, '/view/title', { plainOnly: true });
  if (view.submit !== undefined) c.text(view.submit, BLOCK_LIMITS.modalButton, '/view/submit', { plainOnly: true });
  if (view.close !== undefined) c.text(view.close, BLOCK_LIMITS.modalButton, '/view/close', { plainOnly: true });
  c.maxLength(view.private_metadata, BLOCK_LIMITS.privateMetadata, '/view/private_metadata');
  c.maxLength(view.callback_id, BLOCK_LIMITS.callbackId, '/view/callback_id');
  c.maxLength(view.external_id, BLOCK_LIMITS.externalId, '/view/external_id');
  c.blocks(view.blocks, 'modal', '/view/blocks');
  const hasInput = Array.isArray(view.blocks) && view.blocks.some((b) => isObject(b) && b.type === 'input');
  if (hasInput && view.submit === undefined) c.fail('submit is required when an input block is within the blocks array', '/view');
  return c.errors;
}

/** Every rule a Home tab view breaks (`views.publish`), pointers under `/view`. */
export function validateHomeView(view: unknown): string[] {
  const c = new Checker();
  if (!isObject(view)) {
    c.fail('must be a view object', '/view');
    return c.errors;
  }
  if (view.type !== 'home') c.fail('must be one of home', '/view/type');
  c.maxLength(view.private_metadata, BLOCK_LIMITS.privateMetadata, '/view/private_metadata');
  c.maxLength(view.callback_id, BLOCK_LIMITS.callbackId, '/view/callback_id');
  c.maxLength(view.external_id, BLOCK_LIMITS.externalId, '/view/external_id');
  c.blocks(view.blocks, 'home', '/view/blocks');
  return c.errors;
}
