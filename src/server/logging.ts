import type { ApolloServerPlugin } from '@apollo/server';
import type { Logger } from 'pino';
import type { Context } from '../kernel/context';

/**
 * One structured log line per HTTP GraphQL operation: request id (also the
 * `x-request-id` header and `extensions.requestId` of masked errors), caller,
 * operation, duration and outcome with the error codes answered.
 */
export function requestLogPlugin(log: Logger): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      const start = process.hrtime.bigint();
      return {
        async willSendResponse({ contextValue, response, operationName, operation }) {
          const errors = response.body.kind === 'single' ? (response.body.singleResult.errors ?? []) : [];
          const codes = [...new Set(errors.map((e) => String(e.extensions?.code ?? 'UNKNOWN')))];
          const entry = {
            requestId: contextValue.requestId,
            userId: contextValue.viewer?.userId,
            partnerId: contextValue.viewer?.partnerId,
            operationName: operationName ?? undefined,
            operationType: operation?.operation,
            status: response.http.status ?? 200,
            durationMs: Math.round(Number(process.hrtime.bigint() - start) / 1e4) / 100,
            outcome: errors.length ? 'error' : 'ok',
            ...(codes.length ? { errorCodes: codes } : {}),
          };
          log.info(entry, 'graphql request');
        },
      };
    },
  };
}
