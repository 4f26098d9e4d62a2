/**
 * Go client/llb's EnvList: an ordered list where setting an existing key removes the old entry and
 * appends the new one at the end (`A=1, B=2, A=3` → `B=2, A=3`). The order is part of the op bytes.
 */
import { StapelkitError } from '../errors';

export type EnvEntries = readonly (readonly [string, string])[];

export class EnvList {
  private constructor(private readonly entries: EnvEntries) {}

  static empty(): EnvList {
    return new EnvList([]);
  }

  /** `K=V` strings (no `=`: empty value), `[k, v]` pairs or a record (record order = insertion order) as pairs. */
  static pairs(src: readonly string[] | EnvEntries | Record<string, string>): EnvEntries {
    if (!Array.isArray(src)) return Object.entries(src as Record<string, string>);
    return (src as readonly (string | readonly [string, string])[]).map((item) => {
      if (typeof item !== 'string') return item;
      const eq = item.indexOf('=');
      return eq < 0 ? ([item, ''] as const) : ([item.slice(0, eq), item.slice(eq + 1)] as const);
    });
  }

  /** From `K=V` strings, `[k, v]` pairs or a record (see `pairs`). */
  static from(src: readonly string[] | EnvEntries | Record<string, string>): EnvList {
    let list = EnvList.empty();
    for (const [k, v] of EnvList.pairs(src)) list = list.addOrReplace(k, v);
    return list;
  }

  get(key: string): string | undefined {
    return this.entries.find(([k]) => k === key)?.[1];
  }

  has(key: string): boolean {
    return this.entries.some(([k]) => k === key);
  }

  delete(key: string): EnvList {
    return new EnvList(this.entries.filter(([k]) => k !== key));
  }

  addOrReplace(key: string, value: string): EnvList {
    if (key === '' || key.includes('=')) {
      throw new StapelkitError('LLB_INVALID_ENV', `invalid environment variable name ${JSON.stringify(key)}`);
    }
    return new EnvList([...this.delete(key).entries, [key, value]]);
  }

  /** Adds only when the key is absent (Go's SetDefault). */
  setDefault(key: string, value: string): EnvList {
    return this.has(key) ? this : this.addOrReplace(key, value);
  }

  keys(): string[] {
    return this.entries.map(([k]) => k);
  }

  toArray(): string[] {
    return this.entries.map(([k, v]) => `${k}=${v}`);
  }

  get length(): number {
    return this.entries.length;
  }
}
