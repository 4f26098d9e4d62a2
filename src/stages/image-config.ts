/** Image-config edits shared by dockerInstructions and imageSpec (buildah's config semantics). */
import { StapelkitError } from '../errors';
import type { OciImageConfig } from './types';

export type Config = NonNullable<OciImageConfig['config']>;
export type Health = NonNullable<Config['Healthcheck']>;

export function cloneConfig(c: OciImageConfig): OciImageConfig {
  return JSON.parse(JSON.stringify(c)) as OciImageConfig;
}

export function setEnv(env: readonly string[], key: string, value: string): string[] {
  const out = [...env];
  const i = out.findIndex((e) => e === key || e.startsWith(key + '='));
  if (i >= 0) out[i] = `${key}=${value}`;
  else out.push(`${key}=${value}`);
  return out;
}

/** Docker's port spec normalisation: `80` → `80/tcp`. */
export function portKey(p: string): string {
  return p.includes('/') ? p : `${p}/tcp`;
}

/** A docker CMD/ENTRYPOINT as buildah reads werf's string: `[...]` is JSON, anything else the shell form. */
export function commandValue(v: string | string[]): string[] {
  if (Array.isArray(v)) return [...v];
  if (v.startsWith('[') && v.endsWith(']')) {
    try {
      const parsed: unknown = JSON.parse(v);
      if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) return parsed as string[];
    } catch {
      // not JSON: shell form below
    }
  }
  return ['/bin/sh', '-c', v];
}

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, in nanoseconds. */
export function parseGoDuration(s: string): number {
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|ms|s|m|h)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let pos = 0;
  if (s === '0') return 0;
  while ((m = re.exec(s))) {
    total += parseFloat(m[1]) * DURATION_UNITS[m[2]];
    pos = re.lastIndex;
  }
  if (pos !== s.length || s === '') throw new StapelkitError('BAD_HEALTHCHECK', `invalid duration "${s}"`);
  return Math.round(total);
}

/** The text after HEALTHCHECK in a Dockerfile (flags, then CMD …, or NONE), as Docker's parser reads it. */
export function parseHealthcheck(text: string): Health {
  let rest = text.trim();
  const h: Health = {};
  for (;;) {
    const m = /^--([a-z-]+)=(\S+)\s*/.exec(rest);
    if (!m) break;
    rest = rest.slice(m[0].length);
    if (m[1] === 'interval') h.Interval = parseGoDuration(m[2]);
    else if (m[1] === 'timeout') h.Timeout = parseGoDuration(m[2]);
    else if (m[1] === 'start-period') h.StartPeriod = parseGoDuration(m[2]);
    else if (m[1] === 'retries') h.Retries = parseInt(m[2], 10);
    else throw new StapelkitError('BAD_HEALTHCHECK', `HEALTHCHECK: unknown flag --${m[1]}`);
  }
  const word = /^(\S+)\s*/.exec(rest);
  const kind = word ? word[1].toUpperCase() : '';
  if (kind === 'NONE') return { Test: ['NONE'] };
  if (kind !== 'CMD') throw new StapelkitError('BAD_HEALTHCHECK', `HEALTHCHECK: expected CMD or NONE, got ${JSON.stringify(text)}`);
  const cmd = rest.slice(word![0].length);
  if (cmd === '') throw new StapelkitError('BAD_HEALTHCHECK', 'HEALTHCHECK CMD needs a command');
  const exec = cmd.startsWith('[') ? commandValue(cmd) : undefined;
  h.Test = exec && exec[0] !== '/bin/sh' ? ['CMD', ...exec] : ['CMD-SHELL', cmd];
  return h;
}

/**
 * Dockerfile word expansion (BuildKit shell.Lex ProcessWord) of an env value against `env`:
 * `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR:+word}`, quotes removed, `\` escapes.
 */
export function expandWord(word: string, env: readonly string[]): string {
  const lookup = (k: string): string | undefined => {
    for (let i = env.length - 1; i >= 0; i--) {
      const e = env[i];
      if (e.startsWith(k + '=')) return e.slice(k.length + 1);
    }
    return undefined;
  };
  let out = '';
  let i = 0;
  let quote: '"' | "'" | undefined;
  while (i < word.length) {
    const c = word[i];
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else out += c;
      i++;
      continue;
    }
    if (c === "'" && !quote) {
      quote = "'";
      i++;
      continue;
    }
    if (c === '"') {
      quote = quote ? undefined : '"';
      i++;
      continue;
    }
    if (c === '\\' && i + 1 < word.length) {
      out += word[i + 1];
      i += 2;
      continue;
    }
    if (c === '$') {
      if (word[i + 1] === '{') {
        const end = word.indexOf('}', i + 2);
        if (end < 0) throw new StapelkitError('BAD_ENV', `missing '}' in ${JSON.stringify(word)}`);
        const body = word.slice(i + 2, end);
        const m = /^([A-Za-z_][A-Za-z0-9_]*)(?::([-+])(.*))?$/s.exec(body);
        if (!m) throw new StapelkitError('BAD_ENV', `bad substitution \${${body}} in ${JSON.stringify(word)}`);
        const v = lookup(m[1]);
        if (m[2] === '-') out += v ? v : expandWord(m[3], env);
        else if (m[2] === '+') out += v ? expandWord(m[3], env) : '';
        else out += v ?? '';
        i = end + 1;
        continue;
      }
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(word.slice(i + 1));
      if (m) {
        out += lookup(m[0]) ?? '';
        i += 1 + m[0].length;
        continue;
      }
    }
    out += c;
    i++;
  }
  return out;
}
