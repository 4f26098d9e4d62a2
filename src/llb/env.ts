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

  /** From `K=V` strings, `[k, v]` pairs or a record (record order = insertion order). */
  static from(src: readonly string[] | EnvEntries | Record<string, string>): EnvList {
    let list = EnvList.empty();
    if (Array.isArray(src)) {
      for (const item of src as readonly (string | readonly [string, string])[]) {
        if (typeof item === 'string') {
          const eq = item.indexOf('=');
          list = eq < 0 ? list.addOrReplace(item, '') : list.addOrReplace(item.slice(0, eq), item.slice(eq + 1));
        } else list = list.addOrReplace(item[0], item[1]);
      }
    } else {
      for (const [k, v] of Object.entries(src as Record<string, string>)) list = list.addOrReplace(k, v);
    }
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
