/**
 * Small helpers for showing user-supplied text back to people safely inside messages.
 */

/** Quote a value for a message: control characters made visible, long values cut with an ellipsis. */
export function show(value: string, max = 80): string {
  // Control characters would break Slack rendering or terminals; show them as \uXXXX instead.
  const visible = Array.from(value)
    .map((ch) => {
      const code = ch.codePointAt(0) ?? 0;
      if (code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0) || code === 0x2028 || code === 0x2029) {
        return `\\u${code.toString(16).padStart(4, '0')}`;
      }
      return ch;
    })
    .join('');
  const chars = Array.from(visible);
  const cut = chars.length > max ? `${chars.slice(0, max).join('')}…` : visible;
  return `"${cut}"`;
}

/** Join items as `a, b and c` for messages. */
export function listOf(items: readonly string[], none = 'none'): string {
  if (items.length === 0) return none;
  if (items.length === 1) return items[0] as string;
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}
