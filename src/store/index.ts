export { DEFAULT_PREFIX, storeKeys, openRequestKey, type StoreKeys } from './keys';
export {
  RedisRequestStore,
  OPEN_KEY_RELEASING_STATES,
  type RedisRequestStoreOptions,
  type ReserveOpenKeyResult,
  type ResourcesPatch,
  type AuditEntry,
} from './redis-request-store';
export { connectProducer, connectWorker, closeConnection, redactUrl } from './connection';
export { connectionFor, EntraRedisAuth, REDIS_ENTRA_SCOPE, tokenObjectId, useEntraAuthFor } from './redis-auth';
