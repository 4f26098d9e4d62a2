/**
 * Secrets for `--mount=type=secret`: the daemon asks for an ID and gets bytes, or NotFound (which
 * optional secret mounts tolerate). Values are read at request time and never logged.
 */
import * as fs from 'node:fs';
import { StapelkitError } from '../errors';

export type SecretSource =
  | { id: string; env: string }
  | { id: string; file: string }
  | { id: string; value: string | Uint8Array };

export interface SecretsProvider {
  /** The secret's bytes, or undefined when it does not exist. */
  get(id: string): Promise<Buffer | undefined>;
}

/** A provider over a fixed list of sources; a missing env var or file yields undefined (NotFound). */
export function secretsFromSources(sources: SecretSource[]): SecretsProvider {
  const byId = new Map<string, SecretSource>();
  for (const s of sources) {
    if (!s || typeof s.id !== 'string' || s.id === '') throw new StapelkitError('E_SESSION_SECRET', 'secret source without an id');
    const kinds = ['env', 'file', 'value'].filter((k) => k in s);
    if (kinds.length !== 1) {
      throw new StapelkitError('E_SESSION_SECRET', `secret ${JSON.stringify(s.id)} must have exactly one of env, file or value`);
    }
    if (byId.has(s.id)) throw new StapelkitError('E_SESSION_SECRET', `secret ${JSON.stringify(s.id)} is defined twice`);
    byId.set(s.id, s);
  }
  return {
    async get(id: string): Promise<Buffer | undefined> {
      const s = byId.get(id);
      if (!s) return undefined;
      if ('env' in s) {
        const v = process.env[s.env];
        return v === undefined ? undefined : Buffer.from(v);
      }
      if ('file' in s) {
        try {
          return await fs.promises.readFile(s.file);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
          throw new StapelkitError('E_SESSION_SECRET', `secret ${JSON.stringify(id)}: cannot read ${s.file}: ${(e as Error).message}`);
        }
      }
      return Buffer.from(s.value);
    },
  };
}
