/**
 * ObjectMeta validation with the API server's own wording (apimachinery validation messages).
 */
import type { StatusCause } from './status';

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export const RFC1123_SUBDOMAIN_MESSAGE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
export const RFC1123_LABEL_MESSAGE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const QUALIFIED_NAME_MESSAGE =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MESSAGE =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

const q = (v: string): string => JSON.stringify(v);

function invalidValue(field: string, value: string, message: string): StatusCause {
  return { reason: 'FieldValueInvalid', message: `Invalid value: ${q(value)}: ${message}`, field };
}

/** Causes for an object name: RFC 1123 subdomain (most objects) or label (namespaces). */
export function validateName(name: string | undefined, rule: 'subdomain' | 'label'): StatusCause[] {
  if (name === undefined || name === '') {
    return [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }];
  }
  const causes: StatusCause[] = [];
  const max = rule === 'label' ? 63 : 253;
  if (name.length > max) causes.push(invalidValue('metadata.name', name, `must be no more than ${max} characters`));
  const ok = rule === 'label' ? LABEL.test(name) : SUBDOMAIN.test(name);
  if (!ok) causes.push(invalidValue('metadata.name', name, rule === 'label' ? RFC1123_LABEL_MESSAGE : RFC1123_SUBDOMAIN_MESSAGE));
  return causes;
}

function qualifiedNameErrors(key: string): string[] {
  const errs: string[] = [];
  const slash = key.split('/');
  let name = key;
  if (slash.length > 2) return [`a qualified name ${QUALIFIED_NAME_MESSAGE.replace('name part ', '')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`];
  if (slash.length === 2) {
    const prefix = slash[0] ?? '';
    name = slash[1] ?? '';
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else if (!SUBDOMAIN.test(prefix) || prefix.length > 253) errs.push(`prefix part ${RFC1123_SUBDOMAIN_MESSAGE}`);
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else {
    if (name.length > 63) errs.push('name part must be no more than 63 characters');
    if (!QUALIFIED_NAME_PART.test(name)) errs.push(QUALIFIED_NAME_MESSAGE);
  }
  return errs;
}

/** Causes for labels (qualified keys, label values) and annotations (qualified keys). */
export function validateLabelsAndAnnotations(labels: Record<string, string> | undefined, annotations: Record<string, string> | undefined): StatusCause[] {
  const causes: StatusCause[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    for (const e of qualifiedNameErrors(k)) causes.push(invalidValue('metadata.labels', k, e));
    if (v.length > 63) causes.push(invalidValue('metadata.labels', v, 'must be no more than 63 characters'));
    if (!LABEL_VALUE.test(v)) causes.push(invalidValue('metadata.labels', v, LABEL_VALUE_MESSAGE));
  }
  for (const k of Object.keys(annotations ?? {})) {
    for (const e of qualifiedNameErrors(k.toLowerCase())) causes.push(invalidValue('metadata.annotations', k, e));
  }
  return causes;
}

/** The decode error the API server returns (400) when a string map holds something else. */
export function stringMapError(kind: string, field: 'labels' | 'annotations', value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    return `${kind} in version "v1" cannot be handled as a ${kind}: json: cannot unmarshal ${goType(value)} into Go struct field ObjectMeta.metadata.${field} of type map[string]string`;
  }
  for (const v of Object.values(value as Record<string, unknown>)) {
    if (typeof v !== 'string') {
      return `${kind} in version "v1" cannot be handled as a ${kind}: json: cannot unmarshal ${goType(v)} into Go struct field ObjectMeta.metadata.${field} of type string`;
    }
  }
  return undefined;
}

function goType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'object' : typeof v;
}
