import { createParameterDecorator } from 'type-graphql';

/**
 * The object a field resolver belongs to, as it is. type-graphql's `@Root()` copies a
 * plain object into a new instance of the declared class on every call; for entity
 * classes that runs MikroORM's property setters, and the read paths hand out plain
 * rows, so a page of 50 customers paid for hundreds of throwaway entities.
 */
export const Parent = () => createParameterDecorator(({ root }) => root);
