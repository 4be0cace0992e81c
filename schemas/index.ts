export * from './common.js';
export * from './upload.js';
export * from './job.js';
export * from './status.js';
export * from './completion.js';
export { formatZodError, parseOrThrow, SchemaError } from './parse.js';
