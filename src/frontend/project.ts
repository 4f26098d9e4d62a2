/**
 * werf.yaml → Model inside the frontend: the config layer's own loadProject, reading through a
 * ContextGitReader, re-run until a pass needs no file it has not seen (context-files.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Gateway, GatewayRef } from '../build/gateway';
import { loadProject, type LoadedProject } from '../project';
import { StapelkitError } from '../errors';
import { ContextFiles, ContextGitReader } from './context-files';

export interface ContextLoadOptions {
  /** werf.yaml's name inside the context (messages say this file). */
  configName: string;
  /** Its text, read from the `dockerfile` local (it need not be in the context). */
  configText: Buffer;
  /** The template environment (`build-arg:*`); never the frontend's own process env. */
  environ: Record<string, string>;
  env: string;
  dev: boolean;
  looseGiterminism: boolean;
  /** Commit time when the context has no `.git`: SOURCE_DATE_EPOCH (seconds) when given, else the epoch. */
  sourceDateEpoch?: number;
  /** At most this many render passes (default 20). */
  maxPasses?: number;
}

export interface ContextProject extends LoadedProject {
  files: ContextFiles;
  /** Render passes it took, and bridge calls made to feed them. */
  passes: number;
  /** Whether the context carried a `.git` whose HEAD gave the commit. */
  fromDotGit: boolean;
}

export async function loadFromContext(gw: Gateway, context: GatewayRef, opts: ContextLoadOptions): Promise<ContextProject> {
  const files = new ContextFiles(gw, context, new Map([[opts.configName, opts.configText]]));
  // The config layer wants a real project directory; an empty one means "nothing on disk".
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'stapelkit-frontend-'));
  fs.mkdirSync(path.join(base, 'project'));
  const dir = fs.realpathSync(path.join(base, 'project'));
  const fallback = { hash: '', date: new Date((opts.sourceDateEpoch ?? 0) * 1000), tzOffset: '+0000' };
  const reader = new ContextGitReader(dir, files, fallback);
  const max = opts.maxPasses ?? 20;
  try {
    for (let pass = 1; ; pass++) {
      let loaded: LoadedProject | undefined;
      let failure: unknown;
      try {
        loaded = loadProject({ dir, config: opts.configName, env: opts.env, dev: opts.dev, looseGiterminism: opts.looseGiterminism, environ: opts.environ, git: reader });
      } catch (e) {
        failure = e;
      }
      if (files.complete) {
        if (failure) throw failure;
        return { ...loaded!, files, passes: pass, fromDotGit: loaded!.commit.hash !== '' };
      }
      if (pass >= max) throw new StapelkitError('FRONTEND_CONTEXT', `werf.yaml still asked for new files after ${max} render passes`);
      await files.fetchMissing();
    }
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
}
