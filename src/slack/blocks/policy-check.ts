/** `/wid policy check`'s answer: one section per problem (file, field, what is wrong, the fix), within Block Kit's limits. */
import type { KnownBlock } from '@slack/types';
import type { PolicyCheckReport } from '../../app/policy-check';
import { clip, code, context, esc, fit, header, section, type SlackMessage } from './text';

/** Sections shown before the rest is summed up (a message holds at most 50 blocks). */
const SHOWN = 40;

export function policyCheckMessage(report: PolicyCheckReport): SlackMessage {
  const c = report.checked;
  const counted = `${c['slack-user']} Slack users, ${c['slack-usergroup']} usergroups, ${c['azure-scope']} scopes, ${c['azure-role']} roles, ${c.cluster} clusters checked`;
  const blocks: KnownBlock[] = [];
  if (report.problems.length === 0) {
    blocks.push(section(`:white_check_mark: The policy ${code(clip(report.file, 200))} and the live world agree: ${counted}.`));
  } else {
    blocks.push(header(`Policy check: ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}`));
    blocks.push(context(`${esc(clip(report.file, 200))} · ${counted}`));
    for (const p of report.problems.slice(0, SHOWN)) {
      blocks.push(section(fit(`${code(clip(p.path, 200))}: ${esc(p.problem)}\n*Fix:* ${esc(p.fix)}`, 2900)));
    }
    if (report.problems.length > SHOWN) blocks.push(context(`…and ${report.problems.length - SHOWN} more: \`wid policy check --live\` lists them all.`));
  }
  if (report.skipped.length) blocks.push(context(`Not checked: ${esc(report.skipped.join('; '))}.`));
  const text =
    report.problems.length === 0
      ? `The policy and the live world agree: ${counted}.`
      : `Policy check: ${report.problems.length} problem(s). ${report.problems.slice(0, 5).map((p) => `${p.path}: ${p.problem}`).join('; ')}`;
  return { text: clip(text, 3000), blocks };
}
