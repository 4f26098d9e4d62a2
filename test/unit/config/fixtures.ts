/** Shared helpers for config fixture tests: a fixture dir → a committed temp repo → load. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LoadOptions, Renderer, defaultRenderer, loadProject, plainRenderer } from '../../../src/config';
import { StapelkitError } from '../../../src/errors';
import { removeRepo, repoFromDir } from '../git/repo';

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

export function loadFixture(dir: string, render?: Renderer) {
  const o = readOptions(dir);
  const repo = repoFromDir(dir, (rel) => META_FILES.has(rel), path.basename(dir));
  try {
    const opts: LoadOptions = {
      dir: repo,
      env: o.env ?? '',
      dev: o.dev,
      environ: { ...(o.environ ?? {}) },
      // Fixtures without template actions test the config layer alone; `templates: true` ones use the engine.
      render: render ?? (o.templates ? defaultRenderer() : plainRenderer),
    };
    return loadProject(opts);
  } finally {
    removeRepo(repo);
  }
}

export function formatError(e: unknown): string {
  if (e instanceof StapelkitError) return e.format();
  throw e;
}
