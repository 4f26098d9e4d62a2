/**
 * Masterminds/semver v3 as Sprig uses it: `semver` (NewVersion, loose "v1.2" forms) and
 * `semverCompare` (NewConstraint + Check: =, !=, >, <, >=, <=, ~, ^, x-ranges, hyphen ranges,
 * `,`/space AND, `||` OR; prereleases only match constraints that name one).
 */
import { GoError, GoFunc, GoInt, GoStruct, int } from './value';

interface Version {
  major: bigint;
  minor: bigint;
  patch: bigint;
  pre: string;
  metadata: string;
  original: string;
}

const semVerRe = /^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?(\+([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?$/;
const U64 = 2n ** 64n - 1n;

function parseU(s: string): bigint {
  const v = BigInt(s);
  if (v > U64) throw new GoError(`Error parsing version segment: strconv.ParseUint: parsing ${JSON.stringify(s)}: value out of range`);
  return v;
}

export function newVersion(v: string): Version {
  const m = semVerRe.exec(v);
  if (!m) throw new GoError('Invalid Semantic Version');
  const sv: Version = {
    major: parseU(m[1]),
    minor: m[2] ? parseU(m[2].slice(1)) : 0n,
    patch: m[3] ? parseU(m[3].slice(1)) : 0n,
    pre: m[5] ?? '',
    metadata: m[8] ?? '',
    original: v,
  };
  if (sv.pre) {
    for (const p of sv.pre.split('.')) if (/^[0-9]+$/.test(p) && p.length > 1 && p[0] === '0') throw new GoError('Version segment starts with 0');
  }
  return sv;
}

function versionString(v: Version): string {
  let s = `${v.major}.${v.minor}.${v.patch}`;
  if (v.pre) s += '-' + v.pre;
  if (v.metadata) s += '+' + v.metadata;
  return s;
}

function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function comparePrePart(s: string, o: string): number {
  if (s === o) return 0;
  if (s === '') return o !== '' ? -1 : 1;
  if (o === '') return s !== '' ? 1 : -1;
  const sn = /^[0-9]+$/.test(s);
  const on = /^[0-9]+$/.test(o);
  if (!sn && !on) return s > o ? 1 : -1;
  if (!sn) return 1;
  if (!on) return -1;
  return BigInt(s) > BigInt(o) ? 1 : -1;
}

function comparePrerelease(v: string, o: string): number {
  const sp = v.split('.');
  const op = o.split('.');
  const l = Math.max(sp.length, op.length);
  for (let i = 0; i < l; i++) {
    const d = comparePrePart(sp[i] ?? '', op[i] ?? '');
    if (d !== 0) return d;
  }
  return 0;
}

export function compareVersions(v: Version, o: Version): number {
  const d = cmpBig(v.major, o.major) || cmpBig(v.minor, o.minor) || cmpBig(v.patch, o.patch);
  if (d !== 0) return d;
  if (v.pre === '' && o.pre === '') return 0;
  if (v.pre === '') return 1;
  if (o.pre === '') return -1;
  return comparePrerelease(v.pre, o.pre);
}

interface Constraint {
  con: Version;
  orig: string;
  op: string;
  minorDirty: boolean;
  patchDirty: boolean;
  dirty: boolean;
}

const cv = String.raw`v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?`;
const ops = String.raw`=||!=|>|<|>=|=>|<=|=<|~|~>|\^`;
const constraintRe = new RegExp(String.raw`^\s*(${ops})\s*(${cv})\s*$`);
const rangeRe = new RegExp(String.raw`\s*(${cv})\s+-\s+(${cv})\s*`, 'g');
const findRe = new RegExp(String.raw`(${ops})\s*(${cv})`, 'g');
const validRe = new RegExp(String.raw`^(\s*(${ops})\s*(${cv})\s*)((?:\s+|,\s*)(${ops})\s*(${cv})\s*)*$`);

const isX = (s: string) => s === 'x' || s === '*' || s === 'X';

function parseConstraint(c: string): Constraint {
  const m = constraintRe.exec(c);
  if (!m) throw new GoError(`improper constraint: ${c}`);
  let ver = m[2];
  let minorDirty = false;
  let patchDirty = false;
  let dirty = false;
  const m3 = m[3] ?? '';
  const m4 = m[4] ?? '';
  const m5 = m[5] ?? '';
  const m6 = m[6] ?? '';
  if (isX(m3) || m3 === '') {
    ver = `0.0.0${m6}`;
    dirty = true;
  } else if (isX(m4.replace(/^\./, '')) || m4 === '') {
    minorDirty = true;
    dirty = true;
    ver = `${m3}.0.0${m6}`;
  } else if (isX(m5.replace(/^\./, '')) || m5 === '') {
    dirty = true;
    patchDirty = true;
    ver = `${m3}${m4}.0${m6}`;
  }
  let con: Version;
  try {
    con = newVersion(ver);
  } catch {
    throw new GoError('constraint Parser Error');
  }
  return { con, orig: m[2], op: m[1], minorDirty, patchDirty, dirty };
}

function check(v: Version, c: Constraint): boolean {
  const preBlock = v.pre !== '' && c.con.pre === '';
  const cmp = compareVersions(v, c.con);
  const tilde = () => {
    if (preBlock) return false;
    if (cmp < 0) return false;
    if (c.con.major === 0n && c.con.minor === 0n && c.con.patch === 0n && !c.minorDirty && !c.patchDirty) return true;
    if (v.major !== c.con.major) return false;
    if (v.minor !== c.con.minor && !c.minorDirty) return false;
    return true;
  };
  switch (c.op) {
    case '':
    case '=':
      if (preBlock) return false;
      if (c.dirty) return tilde();
      return cmp === 0;
    case '!=':
      if (c.dirty) {
        if (preBlock) return false;
        if (c.con.major !== v.major) return true;
        if (c.con.minor !== v.minor && !c.minorDirty) return true;
        else if (c.minorDirty) return false;
        else if (c.con.patch !== v.patch && !c.patchDirty) return true;
        else if (c.patchDirty) {
          if (v.pre !== '' || c.con.pre !== '') return comparePrerelease(v.pre, c.con.pre) !== 0;
          return false;
        }
      }
      return cmp !== 0;
    case '>':
      if (preBlock) return false;
      if (!c.dirty) return cmp === 1;
      if (v.major > c.con.major) return true;
      if (v.major < c.con.major) return false;
      if (c.minorDirty) return false;
      if (c.patchDirty) return v.minor > c.con.minor;
      return cmp === 1;
    case '<':
      if (preBlock) return false;
      return cmp < 0;
    case '>=':
    case '=>':
      if (preBlock) return false;
      return cmp >= 0;
    case '<=':
    case '=<':
      if (preBlock) return false;
      if (!c.dirty) return cmp <= 0;
      if (v.major > c.con.major) return false;
      if (v.major === c.con.major && v.minor > c.con.minor && !c.minorDirty) return false;
      return true;
    case '~':
    case '~>':
      return tilde();
    case '^':
      if (preBlock) return false;
      if (cmp < 0) return false;
      if (c.con.major > 0n || c.minorDirty) return v.major === c.con.major;
      if (c.con.major === 0n && v.major > 0n) return false;
      if (c.con.minor > 0n || c.patchDirty) return v.minor === c.con.minor;
      if (c.con.minor === 0n && v.minor > 0n) return false;
      return c.con.patch === v.patch;
  }
  return false;
}

function newConstraint(c: string): Constraint[][] {
  // rewrite hyphen ranges
  let s = c;
  const ranges = [...c.matchAll(rangeRe)];
  for (const r of ranges) s = s.replace(r[0], `>= ${r[1]}, <= ${r[12]}`);
  return s.split('||').map((part) => {
    if (!validRe.test(part)) throw new GoError(`improper constraint: ${part}`);
    const found = [...part.matchAll(findRe)].map((x) => x[0]);
    const cs = found.length > 0 ? found : [part];
    return cs.map(parseConstraint);
  });
}

export function semverCompare(constraint: string, version: string): boolean {
  const cs = newConstraint(constraint);
  const v = newVersion(version);
  return cs.some((and) => and.every((c) => check(v, c)));
}

const versions = new WeakMap<GoStruct, Version>();

function setPart(v: Version, part: 'pre' | 'metadata', value: string): Version {
  if (value.length > 0) {
    if (part === 'pre') {
      for (const x of value.split('.')) {
        if (/^[0-9]*$/.test(x)) {
          if (x.length > 1 && x[0] === '0') throw new GoError('Version segment starts with 0');
        } else if (!/^[0-9A-Za-z-]*$/.test(x)) throw new GoError('Invalid Prerelease string');
      }
    } else if (!value.split('.').every((x) => /^[0-9A-Za-z-]*$/.test(x))) throw new GoError('Invalid Metadata string');
  }
  const n = { ...v, [part]: value };
  return withOriginal(v, n);
}

/** vNext.original = the "v" prefix of v + vNext.String(), as the Inc and Set methods do. */
function withOriginal(v: Version, n: Version): Version {
  return { ...n, original: (v.original.startsWith('v') ? 'v' : '') + versionString(n) };
}

/**
 * A semver.Version (`pointer` false: what IncPatch & co. return) or a *semver.Version (what Sprig's
 * `semver` returns). Value-receiver methods exist on both; Compare/LessThan/GreaterThan/Equal/
 * Original have pointer receivers, so a template reaches them only through the pointer.
 */
function versionValue(v: Version, pointer: boolean): GoStruct {
  const u = (x: bigint) => new GoInt(x, 'uint64');
  const PTR = '*semver.Version';
  const other = (o: unknown) => versions.get(o as GoStruct)!;
  const methods: Record<string, GoFunc> = {
    Major: new GoFunc('Major', [], () => u(v.major), { ret: 'uint64' }),
    Minor: new GoFunc('Minor', [], () => u(v.minor), { ret: 'uint64' }),
    Patch: new GoFunc('Patch', [], () => u(v.patch), { ret: 'uint64' }),
    Prerelease: new GoFunc('Prerelease', [], () => v.pre, { ret: 'string' }),
    Metadata: new GoFunc('Metadata', [], () => v.metadata, { ret: 'string' }),
    String: new GoFunc('String', [], () => versionString(v), { ret: 'string' }),
    IncPatch: new GoFunc(
      'IncPatch',
      [],
      () => versionValue(withOriginal(v, v.pre !== '' ? { ...v, pre: '', metadata: '' } : { ...v, pre: '', metadata: '', patch: v.patch + 1n }), false),
      { ret: 'semver.Version' },
    ),
    IncMinor: new GoFunc('IncMinor', [], () => versionValue(withOriginal(v, { ...v, pre: '', metadata: '', patch: 0n, minor: v.minor + 1n }), false), { ret: 'semver.Version' }),
    IncMajor: new GoFunc('IncMajor', [], () => versionValue(withOriginal(v, { ...v, pre: '', metadata: '', patch: 0n, minor: 0n, major: v.major + 1n }), false), { ret: 'semver.Version' }),
    SetPrerelease: new GoFunc('SetPrerelease', ['string'], (p) => versionValue(setPart(v, 'pre', p as string), false), { ret: 'semver.Version' }),
    SetMetadata: new GoFunc('SetMetadata', ['string'], (m) => versionValue(setPart(v, 'metadata', m as string), false), { ret: 'semver.Version' }),
  };
  if (pointer) {
    Object.assign(methods, {
      Original: new GoFunc('Original', [], () => v.original, { ret: 'string' }),
      Compare: new GoFunc('Compare', [PTR], (o) => int(compareVersions(v, other(o))), { ret: 'int' }),
      LessThan: new GoFunc('LessThan', [PTR], (o) => compareVersions(v, other(o)) < 0, { ret: 'bool' }),
      GreaterThan: new GoFunc('GreaterThan', [PTR], (o) => compareVersions(v, other(o)) > 0, { ret: 'bool' }),
      Equal: new GoFunc('Equal', [PTR], (o) => compareVersions(v, other(o)) === 0, { ret: 'bool' }),
    });
  }
  const text = versionString(v);
  const self = new GoStruct(pointer ? PTR : 'semver.Version', methods, text, { kind: pointer ? 'ptr' : 'struct', text });
  versions.set(self, v);
  return self;
}

/** Sprig's `semver`: a *semver.Version with its methods. */
export function semverParse(s: string): GoStruct {
  return versionValue(newVersion(s), true);
}
