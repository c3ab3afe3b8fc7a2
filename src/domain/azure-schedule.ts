/**
 * Azure's own schedule for a grant (`expiry: azure`: Microsoft.Authorization/roleAssignmentScheduleRequests, Entra
 * ID P2 / ID Governance). Pure: the ISO 8601 duration Azure wants and the deterministic request names, so a
 * retried assign or remove sends the same request once.
 */
import { uuidv5 } from './names';

/** Azure refuses active schedules shorter than this. */
export const AZURE_SCHEDULE_MIN_SECONDS = 5 * 60;

const SCHEDULE_REQUEST_NAMESPACE = '9b1f3e52-6c0d-4f7a-8e21-4d5c3b2a1f90';

/** Seconds as an ISO 8601 duration (`PT8H`, `PT1H30M`, `P1DT2H`). */
export function isoDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const time = `${h ? `${h}H` : ''}${m ? `${m}M` : ''}${sec ? `${sec}S` : ''}`;
  return `P${d ? `${d}D` : ''}${time ? `T${time}` : d ? '' : 'T0S'}`;
}

/**
 * The name of the AdminAssign, AdminUpdate (`update`: a later grant sharing the assignment moves its end; `shorten`:
 * the grant that ends last ends early, and the end moves back to the remaining grants') or AdminRemove request of one
 * grant: one per grant and kind.
 */
export function scheduleRequestName(kind: 'assign' | 'update' | 'shorten' | 'remove', grantId: string): string {
  return uuidv5(`${kind}|${grantId}`, SCHEDULE_REQUEST_NAMESPACE);
}

/** The justification Azure keeps with the request: which grant, until when. */
export function scheduleJustification(grantId: string, endsAt: string): string {
  return `wid-bot ${grantId}; ends ${new Date(endsAt).toISOString()}`;
}
