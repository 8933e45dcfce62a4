import { AsyncLocalStorage } from 'node:async_hooks';

/** Carries the request id to places that get no context, such as Apollo's formatError. */
export const requestScope = new AsyncLocalStorage<{ requestId: string }>();

export const currentRequestId = () => requestScope.getStore()?.requestId;
