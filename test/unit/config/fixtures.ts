/** Shared helpers for config fixture tests: a fixture dir → a committed temp repo → load. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Renderer, defaultRenderer, plainRenderer } from '../../../src/config';
import { LoadOptions, loadProject } from '../../../src/project';
import { StapelkitError } from '../../../src/errors';
import { makeRepo, removeRepo } from '../git/repo';

export const FIXTURES = path.resolve(__dirname, '../../fixtures/config');
export const UPDATE = process.env.UPDATE_GOLDEN === '1';

/** Files of a fixture dir that are test metadata, not project files. */
const META_FILES = new Set(['expected.txt', 'expected.json', 'options.json']);

export interface FixtureOptions {
  env?: string;
  dev?: boolean;
  environ?: Record<string, string>;
  /** Use the real template engine (for fixtures with template actions). */
  templates?: boolean;
}

export function fixtureDirs(kind: 'invalid' | 'valid'): string[] {
  const root = path.join(FIXTURES, kind);
  return fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

export function readOptions(dir: string): FixtureOptions {
  const p = path.join(dir, 'options.json');
  return fs.existsSync(p) ? (JSON.parse(fs.readFileSync(p, 'utf8')) as FixtureOptions) : {};
}

/**
 * All fixtures of one kind copied into ONE committed repository, each in its own directory named
 * after the fixture (a project dir inside a repo, as werf allows). One `git init` instead of one
 * per fixture keeps the suites fast.
 */
export class FixtureRepo {
  readonly root: string;
  constructor(kind: 'invalid' | 'valid') {
    const files: Record<string, string> = {};
    for (const name of fixtureDirs(kind)) {
      const dir = path.join(FIXTURES, kind, name);
      const walk = (d: string, rel: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
          const r = rel ? `${rel}/${e.name}` : e.name;
          if (rel === '' && META_FILES.has(e.name)) continue;
          if (e.isDirectory()) walk(path.join(d, e.name), r);
          else files[`${name}/${r}`] = fs.readFileSync(path.join(d, e.name), 'utf8');
        }
      };
      walk(dir, '');
    }
    this.root = makeRepo(files, { name: kind });
  }

  load(name: string, render?: Renderer) {
    const o = readOptions(path.join(FIXTURES, path.basename(this.root), name));
    const opts: LoadOptions = {
      dir: path.join(this.root, name),
      env: o.env ?? '',
      dev: o.dev,
      environ: { ...(o.environ ?? {}) },
      // Fixtures without template actions test the config layer alone; `templates: true` ones use the engine.
      render: render ?? (o.templates ? defaultRenderer() : plainRenderer),
    };
    return loadProject(opts);
  }

  remove(): void {
    removeRepo(this.root);
  }
}

export function formatError(e: unknown): string {
  if (e instanceof StapelkitError) return e.format();
  throw e;
}
