/**
 * …/userAssignedIdentities/{name}/federatedIdentityCredentials: PUT, GET, DELETE, list ($top, nextLink).
 * The rules of the real service: the name pattern, at most 20 per identity, issuer+subject unique per
 * identity, a missing parent → ParentResourceNotFound, and one write at a time per identity (a write
 * overlapping another → 409 ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity).
 */
import { bodyObject, page, propertiesOf, type ArmCall, type ArmContext } from './context';
import { ArmError, notFound, type ArmResponse } from './errors';
import { federatedCredentialId, identityId } from './ids';
import { IDENTITY_TYPE, type IdentityRef } from './identities';
import type { FederatedCredentialRecord, IdentityRecord } from './state';

export const FIC_TYPE = 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials';
export const FIC_NAME = /^[a-zA-Z0-9]{1}[a-zA-Z0-9-_]{2,119}$/;
export const MAX_FICS_PER_IDENTITY = 20;

export function ficBody(identity: IdentityRecord, f: FederatedCredentialRecord): unknown {
  return {
    id: federatedCredentialId(identityId(identity.subscriptionId, identity.resourceGroup, identity.name), f.name),
    name: f.name,
    properties: { issuer: f.issuer, subject: f.subject, audiences: [...f.audiences] },
    type: FIC_TYPE,
  };
}

function parentOf(ctx: ArmContext, ref: IdentityRef, operation: 'read' | 'write' | 'delete'): IdentityRecord {
  const rec = ctx.state.getIdentity(ref.subscriptionId, ref.resourceGroup, ref.name);
  if (rec) return rec;
  throw new ArmError(
    404,
    'ParentResourceNotFound',
    `Failed to perform '${operation}' on resource(s) of type 'userAssignedIdentities/federatedIdentityCredentials', because the parent resource '${identityId(ref.subscriptionId, ref.resourceGroup, ref.name)}' could not be found.`,
  );
}

function ficInput(call: ArmCall): { issuer: string; subject: string; audiences: string[] } {
  const props = propertiesOf(bodyObject(call.body));
  const { issuer, subject, audiences } = props;
  const audiencesOk = Array.isArray(audiences) && audiences.length > 0 && audiences.every((a) => typeof a === 'string' && a !== '');
  if (typeof issuer !== 'string' || issuer === '' || typeof subject !== 'string' || subject === '' || !audiencesOk) {
    throw new ArmError(400, 'BadRequest', "The request format was unexpected. Federated Identity Credential must specify 'issuer', 'subject' and 'audience'.");
  }
  return { issuer, subject, audiences: audiences as string[] };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Run a write while holding the identity busy; an overlapping write gets the service's 409. */
async function exclusiveWrite<T>(ctx: ArmContext, identity: IdentityRecord, write: () => T): Promise<T> {
  const id = identityId(identity.subscriptionId, identity.resourceGroup, identity.name);
  const key = id.toLowerCase();
  if (ctx.ficBusy.has(key)) {
    throw new ArmError(
      409,
      'ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity',
      `Too many Federated Identity Credentials are written concurrently for the managed identity '${key}'. Concurrent Federated Identity Credentials writes under the same managed identity are not supported.`,
    );
  }
  ctx.ficBusy.add(key);
  try {
    if (ctx.ficWriteMs > 0) await sleep(ctx.ficWriteMs);
    return write();
  } finally {
    ctx.ficBusy.delete(key);
  }
}

export async function putFederatedCredential(ctx: ArmContext, ref: IdentityRef, name: string, call: ArmCall): Promise<ArmResponse> {
  const identity = parentOf(ctx, ref, 'write');
  if (!FIC_NAME.test(name)) {
    throw new ArmError(
      400,
      'BadRequest',
      `The federated identity credential name '${name}' is invalid. It must start with a letter or number, contain only letters, numbers, hyphens and underscores, and be 3 to 120 characters long.`,
    );
  }
  const input = ficInput(call);
  return exclusiveWrite(ctx, identity, () => {
    // The identity may have been deleted while this write was in flight.
    const current = parentOf(ctx, ref, 'write');
    const key = name.toLowerCase();
    const existing = current.federatedCredentials.get(key);
    const clash = [...current.federatedCredentials.values()].find(
      (f) => f.name.toLowerCase() !== key && f.issuer === input.issuer && f.subject === input.subject,
    );
    if (clash) {
      throw new ArmError(
        400,
        'BadRequest',
        `Issuer and subject combination already exists for this Managed Identity. Federated identity credential '${clash.name}' already uses issuer '${clash.issuer}' and subject '${clash.subject}'.`,
      );
    }
    if (!existing && current.federatedCredentials.size >= MAX_FICS_PER_IDENTITY) {
      throw new ArmError(
        400,
        'BadRequest',
        `The managed identity '${identityId(current.subscriptionId, current.resourceGroup, current.name)}' already has the maximum of ${MAX_FICS_PER_IDENTITY} Federated Identity Credentials. Delete one before adding another.`,
      );
    }
    const now = Date.now();
    const rec: FederatedCredentialRecord = existing
      ? { ...existing, ...input, updatedAt: now }
      : { name, ...input, createdAt: now, updatedAt: now };
    current.federatedCredentials.set(key, rec);
    return { status: existing ? 200 : 201, body: ficBody(current, rec) };
  });
}

export function getFederatedCredential(ctx: ArmContext, ref: IdentityRef, name: string): ArmResponse {
  const identity = parentOf(ctx, ref, 'read');
  const f = identity.federatedCredentials.get(name.toLowerCase());
  if (!f) throw notFound(`${IDENTITY_TYPE}/${identity.name}/federatedIdentityCredentials`, name, ref.resourceGroup);
  return { status: 200, body: ficBody(identity, f) };
}

export async function deleteFederatedCredential(ctx: ArmContext, ref: IdentityRef, name: string): Promise<ArmResponse> {
  const identity = parentOf(ctx, ref, 'delete');
  return exclusiveWrite(ctx, identity, () => {
    const current = ctx.state.getIdentity(ref.subscriptionId, ref.resourceGroup, ref.name);
    return { status: current?.federatedCredentials.delete(name.toLowerCase()) ? 200 : 204 };
  });
}

export function listFederatedCredentials(ctx: ArmContext, ref: IdentityRef, call: ArmCall): ArmResponse {
  const identity = parentOf(ctx, ref, 'read');
  let size = ctx.pageSize;
  const top = call.query['$top'];
  if (top !== undefined) {
    size = Number(top);
    if (!Number.isInteger(size) || size < 1) throw new ArmError(400, 'InvalidTop', `The value '${top}' of the query parameter '$top' is invalid.`);
  }
  const items = [...identity.federatedCredentials.values()].map((f) => ficBody(identity, f));
  return { status: 200, body: page(ctx, call, items, size, '$skipToken') };
}
