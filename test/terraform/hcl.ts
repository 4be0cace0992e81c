/**
 * Loads terraform/*.tf through @cdktf/hcl2json (offline, wasm) into one model the tests can
 * query: resources and data sources by type and name, variables, locals, outputs, and every
 * expression string with the file it came from.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

// Loaded without its type declarations on purpose: they pull the DOM lib into the whole
// program (`/// <reference lib="dom" />`), which changes timer types for every other file.
const hcl2json = createRequire(import.meta.url)('@cdktf/hcl2json') as { parse(filename: string, contents: string): Promise<unknown> };

export type Block = Record<string, unknown>;

export const TERRAFORM_DIR = join(import.meta.dirname, '..', '..', 'terraform');

export interface Expression {
  file: string;
  /** Where in the file's JSON it sits, e.g. resource.google_pubsub_subscription.jobs_worker.topic */
  path: string;
  text: string;
}

export interface Model {
  files: string[];
  resources: Map<string, Map<string, Block>>;
  data: Map<string, Map<string, Block>>;
  variables: Map<string, Block>;
  locals: Map<string, unknown>;
  outputs: Map<string, Block>;
  /** Every string value containing an interpolation, full-line comments removed. */
  expressions: Expression[];
  /** Every string value, literal or not. */
  strings: Expression[];
}

export function isBlock(value: unknown): value is Block {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** hcl2json wraps every block body in an array (blocks may repeat); most occur once. */
export function one(value: unknown, what: string): Block {
  const list = Array.isArray(value) ? value : [value];
  if (list.length !== 1 || !isBlock(list[0])) throw new Error(`expected exactly one ${what} block, got ${JSON.stringify(value)?.slice(0, 200)}`);
  return list[0];
}

export function blocks(value: unknown): Block[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter(isBlock);
}

/** A nested block by path, e.g. child(service, 'template', 'scaling'); throws if any step is missing. */
export function child(block: Block, ...path: string[]): Block {
  let current = block;
  for (const key of path) current = one(current[key], key);
  return current;
}

/** The blocks of a `dynamic "name"` block's content, as written. */
export function dynamicContent(block: Block, name: string): Block[] {
  const dyn = block['dynamic'];
  if (!isBlock(dyn)) return [];
  return blocks(dyn[name]).flatMap((d) => blocks(d['content']));
}

function stripComments(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/^\s*(#|\/\/)/.test(line))
    .join('\n');
}

function collectStrings(value: unknown, file: string, path: string, out: Expression[]): void {
  if (typeof value === 'string') out.push({ file, path, text: value });
  else if (Array.isArray(value)) value.forEach((v) => collectStrings(v, file, path, out));
  else if (isBlock(value)) for (const [k, v] of Object.entries(value)) collectStrings(v, file, path ? `${path}.${k}` : k, out);
}

function addNamed(target: Map<string, Map<string, Block>>, section: unknown, file: string): void {
  if (!isBlock(section)) return;
  for (const [type, byName] of Object.entries(section)) {
    if (!isBlock(byName)) continue;
    const names = target.get(type) ?? new Map<string, Block>();
    for (const [name, body] of Object.entries(byName)) {
      if (names.has(name)) throw new Error(`${type}.${name} is declared twice (second time in ${file})`);
      names.set(name, one(body, `${type}.${name}`));
    }
    target.set(type, names);
  }
}

let cached: Promise<Model> | undefined;

/** Parse every .tf file once per test process. */
export function loadTerraform(dir = TERRAFORM_DIR): Promise<Model> {
  cached ??= (async () => {
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.tf'))
      .sort();
    const model: Model = {
      files,
      resources: new Map(),
      data: new Map(),
      variables: new Map(),
      locals: new Map(),
      outputs: new Map(),
      expressions: [],
      strings: [],
    };
    for (const file of files) {
      const json = await hcl2json.parse(file, readFileSync(join(dir, file), 'utf8'));
      if (!isBlock(json)) throw new Error(`${file}: unexpected parse result`);
      addNamed(model.resources, json['resource'], file);
      addNamed(model.data, json['data'], file);
      for (const [name, body] of Object.entries(isBlock(json['variable']) ? json['variable'] : {})) model.variables.set(name, one(body, `variable ${name}`));
      for (const [name, body] of Object.entries(isBlock(json['output']) ? json['output'] : {})) model.outputs.set(name, one(body, `output ${name}`));
      for (const localsBlock of blocks(json['locals'])) for (const [name, value] of Object.entries(localsBlock)) model.locals.set(name, value);
      const strings: Expression[] = [];
      collectStrings(json, file, '', strings);
      model.strings.push(...strings);
      model.expressions.push(...strings.filter((s) => s.text.includes('${')).map((s) => ({ ...s, text: stripComments(s.text) })));
    }
    return model;
  })();
  return cached;
}

export function resource(model: Model, type: string, name: string): Block {
  const body = model.resources.get(type)?.get(name);
  if (!body) throw new Error(`resource ${type}.${name} is not declared`);
  return body;
}

export function resourcesOfType(model: Model, type: string): [string, Block][] {
  return [...(model.resources.get(type) ?? new Map<string, Block>())];
}

/** `"${local.x}"` -> the local's value; anything else as is. */
export function resolveLocal(model: Model, value: unknown): unknown {
  const m = typeof value === 'string' ? /^\$\{local\.([\w-]+)\}$/.exec(value) : null;
  return m?.[1] !== undefined && model.locals.has(m[1]) ? model.locals.get(m[1]) : value;
}

export interface References {
  variables: Set<string>;
  locals: Set<string>;
  resources: Set<string>; // "type.name"
  data: Set<string>; // "type.name"
}

/** Every var./local./data./resource reference in the expressions. */
export function references(expressions: readonly Expression[]): References {
  const refs: References = { variables: new Set(), locals: new Set(), resources: new Set(), data: new Set() };
  for (const { text } of expressions) {
    for (const m of text.matchAll(/(?<![\w.])var\.([A-Za-z_][\w-]*)/g)) refs.variables.add(m[1] ?? '');
    for (const m of text.matchAll(/(?<![\w.])local\.([A-Za-z_][\w-]*)/g)) refs.locals.add(m[1] ?? '');
    for (const m of text.matchAll(/(?<![\w.])data\.([a-z][a-z0-9_]*)\.([A-Za-z_][\w-]*)/g)) refs.data.add(`${m[1]}.${m[2]}`);
    for (const m of text.matchAll(/(?<![\w.])((?:google|archive)_[a-z0-9_]+)\.([A-Za-z_][\w-]*)/g)) refs.resources.add(`${m[1]}.${m[2]}`);
  }
  return refs;
}
