import { registerEnumType } from 'type-graphql';

/** Where a confirmation stands with Partner Center (DESIGN.md section 8). */
export enum SyncStatus {
  NOT_CONNECTED = 'NOT_CONNECTED',
  PENDING = 'PENDING',
  SYNCED = 'SYNCED',
  FAILED = 'FAILED',
  NOT_APPLICABLE = 'NOT_APPLICABLE',
  PAUSED = 'PAUSED',
}

registerEnumType(SyncStatus, {
  name: 'SyncStatus',
  description: 'Where a confirmation stands with Partner Center; the local record counts for the gateway whatever this says',
  valuesConfig: {
    NOT_CONNECTED: { description: 'The partner has no Partner Center connection; connecting queues it' },
    PENDING: { description: 'Queued for delivery, or waiting for its next attempt' },
    SYNCED: { description: 'Partner Center has it (created, or it already existed)' },
    FAILED: { description: 'Refused by Partner Center, or still failing after the configured attempts; retryAcceptanceSync requeues it' },
    NOT_APPLICABLE: { description: 'National cloud: Partner Center takes no acceptance there' },
    PAUSED: { description: "The partner's connection needs re-authorization: delivery waits, no attempt spent, until the partner connects again" },
  },
});

/** The state of a partner's Partner Center connection. */
export enum ConnectionStatus {
  CONNECTED = 'CONNECTED',
  FAILING = 'FAILING',
  DISCONNECTED = 'DISCONNECTED',
  NEEDS_REAUTHORIZATION = 'NEEDS_REAUTHORIZATION',
}

registerEnumType(ConnectionStatus, {
  name: 'ConnectionStatus',
  description: "A partner's Partner Center connection",
  valuesConfig: {
    CONNECTED: { description: 'Credentials stored and the last token request succeeded' },
    FAILING: { description: 'Credentials stored but the last token request failed (see lastError); reconnect with fresh credentials' },
    DISCONNECTED: { description: 'No credentials stored' },
    NEEDS_REAUTHORIZATION: { description: 'The delegated grant is dead (invalid_grant: expired from idleness or revoked); deliveries are PAUSED until the partner connects again with a fresh consent' },
  },
});
