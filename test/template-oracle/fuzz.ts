/**
 * Deterministic random template generator for differential testing against the Go oracle:
 * nested Sprig/builtin calls over mixed-type values, plus statement-level constructs
 * (if/with/range/variables/define+template). Same seed → same templates.
 */
import { Case } from './corpus';

export class Rng {
  constructor(private seed: number) {}
  next(): number {
    this.seed = (this.seed * 1103515245 + 12345) % 2147483648;
    return this.seed / 2147483648;
  }
  pick<T>(a: readonly T[]): T {
    return a[Math.floor(this.next() * a.length)];
  }
}

const atoms = [
  '1', '0', '-3', '2.5', '0.0', '1e6', '"abc"', '""', '"a,b,c"', '"Hello World"', '" x "', 'true', 'false', '.i', '.f', '.s',
  '.l', '.m', '.n', '.missing', '.b', '(list 1 "a")', '(list)', '(dict "k" 1)', '(dict)', "'x'", '"1.5"', '"42"', '.nested',
  '(add 1 2)', '(len "ab")', '"ünï"', '.ls', '(splitList "," "x,y")', '$.i', '$x', '$i', '.Env', '.Commit.Hash',
];

const funcs: [string, number][] = [
  ['add', 2], ['sub', 2], ['mul', 2], ['div', 2], ['mod', 2], ['max', 2], ['min', 2], ['add1', 1], ['upper', 1], ['lower', 1],
  ['title', 1], ['trim', 1], ['quote', 1], ['squote', 1], ['toString', 1], ['toJson', 1], ['toYaml', 1], ['typeOf', 1],
  ['kindOf', 1], ['len', 1], ['empty', 1], ['default', 2], ['coalesce', 2], ['ternary', 3], ['eq', 2], ['ne', 2], ['lt', 2],
  ['le', 2], ['gt', 2], ['ge', 2], ['and', 2], ['or', 2], ['not', 1], ['print', 2], ['printf "%v|%d|%s"', 2],
  ['printf "%q %5.1f"', 2], ['list', 2], ['dict "a"', 1], ['first', 1], ['last', 1], ['rest', 1], ['uniq', 1], ['compact', 1],
  ['has', 2], ['append', 2], ['index', 2], ['int', 1], ['int64', 1], ['float64', 1], ['atoi', 1], ['toStrings', 1],
  ['join ","', 1], ['sortAlpha', 1], ['keys', 1], ['hasKey', 2], ['b64enc', 1], ['sha1sum', 1], ['trunc 2', 1], ['repeat 2', 1],
  ['contains "a"', 1], ['replace "a" "b"', 1], ['splitList ","', 1], ['indent 2', 1], ['nindent 1', 1], ['cat', 2], ['floor', 1],
  ['ceil', 1], ['round', 2], ['until', 1], ['seq', 1], ['semverCompare ">=1.0"', 1], ['regexMatch "^[a-z]+$"', 1],
  ['regexReplaceAll "[aeiou]" ', 2], ['toDecimal', 1], ['fromYaml', 1], ['html', 1], ['js', 1], ['urlquery', 1],
  ['deepEqual', 2], ['without', 2], ['slice', 2], ['concat', 2], ['pick', 2], ['omit', 2], ['merge', 2], ['abbrev 5', 1],
  ['snakecase', 1], ['camelcase', 1], ['kebabcase', 1], ['wrap 3', 1], ['nospace', 1], ['initials', 1], ['substr 1 3', 1],
  ['plural "a" "b"', 1], ['b64dec', 1], ['toPrettyJson', 1], ['fromJson', 1], ['split "a"', 1], ['reverse', 1], ['chunk 2', 1],
  ['initial', 1], ['dig "a" "d"', 1], ['adler32sum', 1], ['untilStep 0 5', 1], ['mulf', 2], ['addf', 2], ['divf', 2],
  ['include "t"', 1], ['tpl "{{ . }}"', 1], ['required "req"', 1], ['swapcase', 1], ['regexFindAll "[0-9]" ', 2],
  ['regexSplit "," ', 2], ['b32enc', 1], ['sha256sum', 1], ['mustToJson', 1], ['toRawJson', 1], ['kindIs "slice"', 1],
];

export function genExpr(r: Rng, depth: number): string {
  if (depth <= 0 || r.next() < 0.3) return r.pick(atoms);
  const [f, n] = r.pick(funcs);
  const args = Array.from({ length: n }, () => genExpr(r, depth - 1));
  if (r.next() < 0.2) return `(${args[n - 1]} | ${f}${args.slice(0, -1).map((a) => ' ' + a).join('')})`;
  return `(${f} ${args.join(' ')})`;
}

export function genStatement(r: Rng, depth: number): string {
  const e = () => genExpr(r, 2);
  const body = () => (depth > 0 ? genStatement(r, depth - 1) : `{{ ${e()} }}`);
  switch (Math.floor(r.next() * 9)) {
    case 0: return `{{ if ${e()} }}T${body()}{{ else if ${e()} }}E${body()}{{ else }}F{{ end }}`;
    case 1: return `{{ with ${e()} }}W{{ . }}${body()}{{ else }}-{{ end }}`;
    case 2: return `{{ range $i, $v := ${e()} }}[{{ $i }}={{ $v }}${body()}]{{ else }}none{{ end }}`;
    case 3: return `{{ $x := ${e()} }}{{ $x }}${body()}{{ $x = ${e()} }}{{ $x }}`;
    case 4: return `{{- ${e()} -}}\n  ${body()}`;
    case 5: return `{{ template "t" ${e()} }}`;
    case 6: return `{{ range ${e()} }}{{ if eq (typeOf .) "int" }}{{ continue }}{{ end }}{{ . }}{{ break }}{{ end }}`;
    case 7: return `{{ ${e()} | printf "%v" }} ${body()}`;
    default: return `{{ ${e()} }}`;
  }
}

export const FUZZ_DATA = 'i: 7\nf: 1.5\ns: "hello"\nl: [1, two, 3.5, null]\nm: {a: 1, b: [x]}\nn: null\nb: yes\nnested: {a: {b: 1}}\nls: ["b", "a"]';

export function fuzzCases(seed: number, count: number): Case[] {
  const r = new Rng(seed);
  const out: Case[] = [];
  for (let i = 0; i < count; i++) {
    const stmt = r.next() < 0.5;
    const template = '{{ $x := 1 }}{{ $i := 2 }}' + (stmt ? genStatement(r, 2) : `{{ ${genExpr(r, 3)} }}`);
    out.push({
      file: `fuzz(seed ${seed})`, name: `#${i} ${template}`, template, data: FUZZ_DATA,
      partials: { 't.tmpl': '{{ define "t" }}<{{ . }}>{{ end }}' },
      files: {}, env: {}, allowEnv: [], loose: false, envName: 'fz', commitTz: 0,
    });
  }
  return out;
}

/**
 * Go 1.19 (the oracle) cannot range over an integer; werf's Go (≥1.22) can, and so does Stapelkit.
 * Such cases are an intended difference and are not compared.
 */
export function isRangeOverIntDifference(goError: string): boolean {
  return /range can't iterate over -?\d+$/.test(goError);
}

// ---- value fuzzing: random nested lists/dicts of tricky strings through toYaml/toJson/fromYaml/%v/%q ----

const trickyStrings = [
  '""', '"a"', '" a"', '"a "', '"a: b"', '"- x"', '"#x"', '"x #y"', '"yes"', '"NO"', '"~"', '"null"', '"1"', '"1.5"', '"0x1F"',
  '"1e3"', '"2001-01-01"', '"a\\nb"', '"a\\n"', '"\\n"', '"a\\n\\n"', '" a\\nb"', '"a \\nb"', '"tab\\t"', '"é"', '"😀"',
  '"\\u0085"', '"{x}"', '"[x]"', '"x,y"', '"x: "', '"? x"', '"!x"', '"&a"', '"*a"', '"|"', '">"', '"%x"', '"@x"', '"`x"',
  '"\'q\'"', '"\\"q\\""', '"back\\\\slash"', '"key with spaces"',
  '"long long long long long long long long long long long long long long long long long long long long long long"',
  '"1:20"', '"<<"', '"="', '"-"', '"---"', '"..."', '"  "', '"a  b"', '"0"', '"-0"', '".5"', '"+1"', '"0o7"', '"True"', '"on"', '"y"',
];
const scalars = ['1', '0', '-7', '2.5', '1e6', '1e21', '0.000001', 'true', 'false', 'nil', '(int64 5)', '(float64 3)'];

function genValue(r: Rng, d: number): string {
  const x = r.next();
  if (d <= 0 || x < 0.4) return r.next() < 0.7 ? r.pick(trickyStrings) : r.pick(scalars);
  const n = Math.floor(r.next() * 4);
  if (x < 0.7) return `(list${Array.from({ length: n }, () => ' ' + genValue(r, d - 1)).join('')})`;
  return `(dict${Array.from({ length: n }, () => ' ' + r.pick(trickyStrings) + ' ' + genValue(r, d - 1)).join('')})`;
}

export function valueFuzzCases(seed: number, count: number): Case[] {
  const r = new Rng(seed);
  const out: Case[] = [];
  for (let i = 0; i < count; i++) {
    const v = genValue(r, 3);
    const template = `{{ $v := ${v} }}{{ toYaml $v }}\n---\n{{ toJson $v }}\n---\n{{ $v }}\n---\n{{ toYaml (fromYaml (toYaml (dict "k" $v))) }}\n---\n{{ printf "%q" $v }}`;
    out.push({ file: `value-fuzz(seed ${seed})`, name: `#${i}`, template, partials: {}, files: {}, env: {}, allowEnv: [], loose: false, envName: '', commitTz: 0 });
  }
  return out;
}

// RE2 syntax pieces: each a well-formed atom, plus some that are broken on purpose
const reAtoms = [
  'a', 'b', 'k', 'K', 's', 'é', 'Σ', '.', '\\d', '\\D', '\\s', '\\S', '\\w', '\\W', '\\b', '\\B', '^', '$', '\\A', '\\z', '-', '_',
  '[a-c]', '[^a-c]', '[[:alpha:]]', '[[:^digit:]x]', '[\\d-]', '[-a]', '[a-]', '[]a]', '[^\\n]', '\\pL', '\\p{Greek}', '\\PN', '[\\p{Lu}0-9]',
  '\\x41', '\\x{3a3}', '\\101', '\\.', '\\*', '\\Qa.b\\E', '{', '}', 'x{', '(?i)', '(?s)', '(?m)', '(?U)', '(?-i)', '\\n', '\\t', '\\v', '\\C',
  '\\1', '(', ')', '[', '\\', '(?<n>a)', '(?P<n>a)', '(?=a)', '\\u0041', '[[:foo:]]', '\\p{Latn}',
];
const reOps = ['*', '+', '?', '*?', '+?', '??', '{2}', '{1,2}', '{0,}', '{2,}?', '{1001}', '{3,1}', ''];
const reInputs = ['', 'a', 'abc', 'a-b_c', 'AbC k\u212a sS\u017f', 'é\nΣσς', 'x1 22 333', 'aaa\nbbb\n', 'a.b*a.b', 'ÀÉ 1٣', '{}[]()', 'A\t\vB'];

function reExpr(r: Rng, depth: number): string {
  const parts: string[] = [];
  const n = 1 + Math.floor(r.next() * 3);
  for (let i = 0; i < n; i++) {
    let atom = depth < 2 && r.next() < 0.25 ? r.pick(['(', '(?:', '(?i:', '(?P<g>', '(?s-i:']) + reExpr(r, depth + 1) + (r.next() < 0.4 ? '|' + reExpr(r, depth + 1) : '') + ')' : r.pick(reAtoms);
    if (r.next() < 0.4) atom += r.pick(reOps);
    parts.push(atom);
  }
  return parts.join(r.next() < 0.15 ? '|' : '');
}

/** Random RE2 patterns (valid and invalid) through regexFindAll / regexReplaceAll / regexSplit. */
export function regexFuzzCases(seed: number, count: number): Case[] {
  const r = new Rng(seed);
  const out: Case[] = [];
  for (let i = 0; i < count; i++) {
    const p = reExpr(r, 0).replace(/`/g, '');
    const s = JSON.stringify(r.pick(reInputs));
    const template = `{{ regexFindAll \`${p}\` ${s} -1 | printf "%q" }} {{ regexReplaceAll \`${p}\` ${s} "<$0>" | printf "%q" }} {{ regexSplit \`${p}\` ${s} -1 | printf "%q" }}`;
    out.push({ file: `regex-fuzz-${seed}`, name: String(i), template, partials: {}, files: {}, env: {}, allowEnv: [], loose: false, envName: '', commitTz: 0 });
  }
  return out;
}

/** The random templates of `fuzzCases` with some string atoms replaced by binary file contents (invalid UTF-8). */
export function binaryFuzzCases(seed: number, count: number): Case[] {
  const filesB64 = {
    bin: Buffer.from([0x61, 0xff, 0x62, 0xc3, 0x2c, 0x80, 0x20, 0xe2, 0x82]).toString('base64'),
    half: Buffer.from([0x68, 0xc3]).toString('base64'),
  };
  return fuzzCases(seed, count).map((c) => ({
    ...c,
    file: `binary-fuzz-${seed}`,
    template: c.template.split('"abc"').join('(.Files.Get "bin")').split('"ünï"').join('(.Files.Get "half")').split('"a,b,c"').join('(print (.Files.Get "bin") "," (.Files.Get "half"))'),
    filesB64,
  }));
}
