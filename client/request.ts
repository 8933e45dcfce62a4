import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';

/**
 * The smallest typed client: a generated document in, typed data out. Frontends may
 * use Apollo Client or graphql-request with the same documents instead.
 */
export class GatewayError extends Error {
  constructor(readonly errors: { message: string; extensions?: { code?: string; field?: string } }[]) {
    super(errors.map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`).join('; '));
  }
}

export async function request<TResult, TVariables>(
  url: string,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
  token?: string,
): Promise<TResult> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query: print(document), variables }),
  });
  const body = (await res.json()) as { data?: TResult; errors?: GatewayError['errors'] };
  if (body.errors?.length) throw new GatewayError(body.errors);
  return body.data as TResult;
}
