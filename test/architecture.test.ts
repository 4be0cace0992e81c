/**
 * The layout's two rules, checked over the source text: product code (functions/, gpu-worker/,
 * shared/, schemas/) never imports from test/ (the local stack and its helpers are test
 * infrastructure, never deployed), and no module imports itself through others (a cycle
 * makes import order matter: a value read before its module ran is undefined). `import type`
 * is erased from the JavaScript (verbatimModuleSyntax), so it counts for the first rule and
 * not for cycles.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

const ROOT = join(import.meta.dirname, '..');
const PRODUCT = ['functions', 'gpu-worker', 'shared', 'schemas'];
const EVERYTHING = [...PRODUCT, 'test', 'scripts', 'bench'];

function sourceFiles(dirs: string[]): string[] {
  return dirs
    .flatMap((dir) => readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true }).map((e) => relative(ROOT, join(e.parentPath, e.name))))
    .filter((f) => /\.(ts|mts|mjs)$/.test(f) && !f.endsWith('.d.ts') && !f.split('/').includes('node_modules'))
    .sort();
}

export interface ImportRef {
  specifier: string;
  /** `import type` / `export type ... from`: gone at run time. */
  typeOnly: boolean;
}

/** Every module a file names: static imports, re-exports, `import()`, and `import type` marked as such. */
export function imports(source: string): ImportRef[] {
  const file = ts.createSourceFile('x.ts', source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: ImportRef[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const typeOnly = ts.isImportDeclaration(node) ? (node.importClause?.isTypeOnly ?? false) : node.isTypeOnly;
      found.push({ specifier: node.moduleSpecifier.text, typeOnly });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      found.push({ specifier: node.arguments[0].text, typeOnly: false });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** A relative specifier as a repository path (`./x.js` -> `dir/x.ts` when that exists), else undefined. */
function resolveRelative(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = normalize(join(dirname(from), spec));
  const candidates = [base, base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((c) => existsSync(join(ROOT, c)) && c.match(/\.(ts|mts|mjs|js|json)$/)) ?? base;
}

/** Import graph over relative imports: file -> files it imports (at run time only, with `runtimeOnly`). */
function importGraph(files: string[], runtimeOnly = false): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets = imports(readFileSync(join(ROOT, file), 'utf8'))
      .filter((i) => !(runtimeOnly && i.typeOnly))
      .map((i) => resolveRelative(file, i.specifier))
      .filter((t): t is string => t !== undefined);
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** Every cycle's members (strongly connected components of more than one module, or a self-import), by Tarjan. */
export function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    indices.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!indices.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indices.get(w)!));
    }
    if (low.get(v) !== indices.get(v)) return;
    const component: string[] = [];
    for (let w = stack.pop()!; ; w = stack.pop()!) {
      onStack.delete(w);
      component.push(w);
      if (w === v) break;
    }
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!indices.has(v)) visit(v);
  return found;
}

describe('architecture', () => {
  it('finds every kind of import in a source text', () => {
    const source = [
      "import a from './a.js';",
      "import type { B } from '../b.js';",
      "export { c } from './c.js';",
      "import './side-effect.js';",
      "const d = await import('./d.js');",
      '// import { e } from "./commented.js";',
      "import {\n  f,\n} from './f.js';",
    ].join('\n');
    assert.deepEqual(imports(source), [
      { specifier: './a.js', typeOnly: false },
      { specifier: '../b.js', typeOnly: true },
      { specifier: './c.js', typeOnly: false },
      { specifier: './side-effect.js', typeOnly: false },
      { specifier: './d.js', typeOnly: false },
      { specifier: './f.js', typeOnly: false },
    ]);
    assert.deepEqual(imports("export type { G } from './g.js';\nimport { type H } from './h.js';"), [
      { specifier: './g.js', typeOnly: true },
      // Kept as `import {} from './h.js'` under verbatimModuleSyntax: it runs h.
      { specifier: './h.js', typeOnly: false },
    ]);
  });

  it('finds a cycle, and none in a tree', () => {
    const cyclic = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', []],
      ['e', ['e']],
    ]);
    assert.deepEqual(cycles(cyclic), [['a', 'b', 'c'], ['e']]);
    assert.deepEqual(cycles(new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]])), []);
  });

  it('product code never imports from test/', () => {
    const files = sourceFiles(PRODUCT);
    assert.ok(files.length > 50, `found ${files.length} product files`);
    const offenders = [...importGraph(files)].flatMap(([file, targets]) => targets.filter((t) => t === 'test' || t.startsWith('test/')).map((t) => `${file} -> ${t}`));
    assert.deepEqual(offenders, []);
  });

  it('no import cycle anywhere in the repository (run-time imports)', () => {
    const found = cycles(importGraph(sourceFiles(EVERYTHING), true));
    assert.deepEqual(found, [], found.map((c) => `cycle: ${c.join(' <-> ')}`).join('\n'));
  });
});
