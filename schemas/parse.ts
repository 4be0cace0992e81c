import type { z } from 'zod';

/**
 * One line per problem, naming the field and what was expected.
 * @example formatZodError(err) // "source.generation: expected a generation as a decimal string"
 */
export function formatZodError(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

export class SchemaError extends Error {
  override readonly name = 'SchemaError';
  constructor(
    readonly schemaName: string,
    readonly issues: z.core.$ZodIssue[],
    message: string,
  ) {
    super(message);
  }
}

/** Parse `value` or throw a SchemaError whose message names every bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, schemaName: string, value: unknown): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new SchemaError(schemaName, result.error.issues, `invalid ${schemaName}: ${formatZodError(result.error)}`);
}
