/**
 * Builder flags of one instruction (BuildKit instructions/bflag.go): declared per instruction,
 * `--name=value` for strings, `--name[=true|false]` for booleans, repeatable string lists.
 */
import type { Pos, RawFlag } from './parser';

export type FlagKind = 'string' | 'bool' | 'list';

export interface ParsedFlag {
  name: string;
  pos: Pos;
  values: string[];
}

export class FlagError extends Error {
  constructor(
    message: string,
    readonly pos: Pos,
  ) {
    super(message);
  }
}

export class Flags {
  private readonly parsed = new Map<string, ParsedFlag>();

  constructor(raw: readonly RawFlag[], spec: Record<string, FlagKind>, instruction: string) {
    for (const f of raw) {
      let arg = f.text;
      if (!arg.startsWith('--')) throw new FlagError(`arg should start with -- : ${arg}`, f.pos);
      arg = arg.slice(2);
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg : arg.slice(0, eq);
      const value = eq < 0 ? undefined : arg.slice(eq + 1);
      const kind = spec[name];
      if (!kind) {
        const known = Object.keys(spec);
        throw new FlagError(`unknown flag: --${name} for ${instruction}${known.length ? ` (known: ${known.map((k) => '--' + k).join(', ')})` : ''}`, f.pos);
      }
      const prev = this.parsed.get(name);
      if (prev && kind !== 'list') throw new FlagError(`Duplicate flag specified: --${name}`, f.pos);
      if (kind === 'bool') {
        const v = value === undefined ? 'true' : value.toLowerCase();
        if (v !== 'true' && v !== 'false') throw new FlagError(`expecting boolean value for flag --${name}, not: ${value}`, f.pos);
        this.parsed.set(name, { name, pos: f.pos, values: [v] });
        continue;
      }
      if (value === undefined) throw new FlagError(`Missing a value on flag: --${name}`, f.pos);
      if (prev) prev.values.push(value);
      else this.parsed.set(name, { name, pos: f.pos, values: [value] });
    }
  }

  string(name: string): string | undefined {
    return this.parsed.get(name)?.values[0];
  }

  bool(name: string): boolean {
    return this.parsed.get(name)?.values[0] === 'true';
  }

  list(name: string): string[] {
    return this.parsed.get(name)?.values ?? [];
  }

  pos(name: string): Pos | undefined {
    return this.parsed.get(name)?.pos;
  }

  all(): ParsedFlag[] {
    return [...this.parsed.values()];
  }
}
