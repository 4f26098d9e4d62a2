/**
 * werf's diff parser (pkg/true_git/diff_parser.go): rewrites `git diff` output for one git mapping —
 * keeps only file blocks whose paths the mapping matcher selects, drops `index` lines and
 * `Submodule` lines, re-roots paths to the mapping's path scope (and renames the file of a
 * file `add`). Its output is the patch werf applies and hashes (gitLatestPatch) or measures (gitCache).
 */
import { StapelkitError } from '../errors';
import type { PathMatcher } from './pathmatch';

export interface PatchFilterOptions {
  /** Directory the patch paths are made relative to (werf's PathScope). */
  pathScope: string;
  matcher: PathMatcher;
  /** Repository path of a renamed file → its new name (without the scope). */
  fileRenames?: Record<string, string>;
}

export interface FilteredPatch {
  text: Buffer;
  /** Paths (relative to the scope) the patch touches. */
  paths: string[];
  binaryPaths: string[];
  pathsToRemove: string[];
}

type State = 'unrecognized' | 'diffBegin' | 'diffBody' | 'newFileDiff' | 'deleteFileDiff' | 'modifyFileDiff' | 'renameDiff' | 'ignoreDiff';

/** Go strconv.Unquote for git's C-quoted paths (octal byte escapes → UTF-8 bytes). */
function unquote(q: string): string {
  const body = q.slice(1, -1);
  const bytes: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') { for (const b of Buffer.from(c)) bytes.push(b); continue; }
    const n = body[++i];
    const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, '"': 34, "'": 39 };
    if (n in simple) bytes.push(simple[n]);
    else if (/[0-7]/.test(n)) { bytes.push(parseInt(body.slice(i, i + 3), 8)); i += 2; }
    else if (n === 'x') { bytes.push(parseInt(body.slice(i + 1, i + 3), 16)); i += 2; }
    else throw new StapelkitError('GIT_PATCH', `unable to unquote diff path ${JSON.stringify(q)}`);
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Go strconv.Quote: printable runes kept, others escaped. */
function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (cp === 7) out += '\\a';
    else if (cp === 8) out += '\\b';
    else if (cp === 12) out += '\\f';
    else if (cp === 10) out += '\\n';
    else if (cp === 13) out += '\\r';
    else if (cp === 9) out += '\\t';
    else if (cp === 11) out += '\\v';
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (cp >= 0x80 && cp < 0xa0) out += '\\u' + cp.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

function relTo(scope: string, p: string): string {
  const b = scope === '' ? [] : scope.split('/');
  const t = p.split('/').filter((x) => x !== '');
  let i = 0;
  while (i < b.length && i < t.length && b[i] === t[i]) i++;
  const out = b.slice(i).map(() => '..').concat(t.slice(i));
  return out.length ? out.join('/') : '.';
}

/** Filters `git diff` output the way werf's diff parser does. */
export function filterPatch(diff: Buffer, opts: PatchFilterOptions): FilteredPatch {
  const out: string[] = [];
  const paths: string[] = [];
  const binaryPaths: string[] = [];
  const pathsToRemove: string[] = [];
  let lastSeen: string[] = [];
  let state = 'unrecognized' as State;
  const renames = opts.fileRenames ?? {};
  const addUnique = (list: string[], v: string) => { if (!list.includes(v)) list.push(v); };
  const applyRenames = (p: string) => (Object.prototype.hasOwnProperty.call(renames, p) ? (opts.pathScope ? opts.pathScope + '/' : '') + renames[p] : p);
  const trimBase = (p: string) => relTo(opts.pathScope, p).replace(/\t+$/, '');
  const write = (l: string) => { out.push(l); };

  const diffBegin = (line: string) => {
    let a: string;
    let b: string;
    let idx = line.indexOf(' "a/');
    if (idx >= 0) {
      const rest = line.slice(idx + 1);
      const j = rest.indexOf(' "b/');
      a = j >= 0 ? rest.slice(0, j) : rest;
      b = j >= 0 ? rest.slice(j + 1) : '';
    } else {
      idx = line.indexOf(' a/');
      if (idx < 0) throw new StapelkitError('GIT_PATCH', `unexpected diff begin line: ${JSON.stringify(line)}`);
      const rest = line.slice(idx + 1);
      const j = rest.indexOf(' b/');
      a = j >= 0 ? rest.slice(0, j) : rest;
      b = j >= 0 ? rest.slice(j + 1) : '';
    }
    const trimmed = new Map<string, string>();
    lastSeen = [];
    for (const [withPrefix, prefix] of [[a, 'a/'], [b, 'b/']] as const) {
      const quoted = withPrefix.startsWith('"') && withPrefix.endsWith('"');
      const plain = quoted ? unquote(withPrefix) : withPrefix;
      let p = plain.startsWith(prefix) ? plain.slice(prefix.length) : plain;
      if (!opts.matcher.isPathMatched(p)) { state = 'ignoreDiff'; return; }
      p = applyRenames(p);
      const np = trimBase(p);
      addUnique(paths, np);
      addUnique(lastSeen, np);
      trimmed.set(withPrefix, quoted ? quote(prefix + np) : prefix + np);
    }
    state = 'diffBegin';
    write(`diff --git ${trimmed.get(a)} ${trimmed.get(b)}`);
  };
  const submoduleLine = (line: string) => {
    state = 'unrecognized';
    if (line.endsWith(' (commits not present)')) {
      throw new StapelkitError('GIT_PATCH', `cannot handle git diff line ${JSON.stringify(line)}, check specified commits are correct: commits not present`);
    }
  };
  const binaryHeader = (line: string, next: State) => {
    for (const p of lastSeen) addUnique(binaryPaths, p);
    if (state === 'deleteFileDiff') for (const p of lastSeen) addUnique(pathsToRemove, p);
    state = next;
    write(line);
  };
  const pathLine = (line: string, prefix: '--- a/' | '+++ b/', next: State | undefined, remove = false) => {
    const np = trimBase(applyRenames(line.startsWith(prefix) ? line.slice(prefix.length) : line));
    if (next) state = next;
    if (remove) addUnique(pathsToRemove, np);
    write(prefix + np);
  };
  /** Lines every in-file state shares: a new file block, an index line, a submodule line. */
  const common = (line: string): boolean => {
    if (line.startsWith('diff --git ')) { diffBegin(line); return true; }
    if (line.startsWith('index ')) return true;
    if (line.startsWith('Submodule ')) { submoduleLine(line); return true; }
    return false;
  };

  const text = diff.toString('utf8');
  const lines = text.split('\n');
  // The last element is what follows the final newline (werf only handles complete lines).
  lines.pop();
  for (const line of lines) {
    switch (state as State) {
      case 'unrecognized':
      case 'ignoreDiff':
        if (line.startsWith('diff --git ')) diffBegin(line);
        else if (line.startsWith('Submodule ')) submoduleLine(line);
        break;
      case 'diffBegin':
        if (line.startsWith('deleted file mode ')) { state = 'deleteFileDiff'; write(line); }
        else if (line.startsWith('new file mode ')) { state = 'newFileDiff'; write(line); }
        else if (line.startsWith('old mode ')) { state = 'modifyFileDiff'; write(line); }
        else if (line.startsWith('similarity index ')) state = 'renameDiff';
        else if (line.startsWith('index ')) state = 'modifyFileDiff';
        else throw new StapelkitError('GIT_PATCH', `unexpected diff line in state \`diffBegin\`: ${JSON.stringify(line)}`);
        break;
      case 'modifyFileDiff':
        if (line.startsWith('new mode ')) write(line);
        else if (line.startsWith('--- ')) pathLine(line, '--- a/', undefined);
        else if (line.startsWith('+++ ')) pathLine(line, '+++ b/', 'diffBody');
        else if (line.startsWith('GIT binary patch')) binaryHeader(line, 'diffBody');
        else if (line.startsWith('Binary files')) binaryHeader(line, 'unrecognized');
        else if (!common(line)) write(line);
        break;
      case 'newFileDiff':
        if (line.startsWith('+++ ')) pathLine(line, '+++ b/', 'diffBody');
        else if (line.startsWith('GIT binary patch')) binaryHeader(line, 'diffBody');
        else if (line.startsWith('Binary files')) binaryHeader(line, 'unrecognized');
        else if (!common(line)) write(line);
        break;
      case 'deleteFileDiff':
        if (line.startsWith('--- ')) pathLine(line, '--- a/', 'diffBody', true);
        else if (line.startsWith('GIT binary patch')) binaryHeader(line, 'diffBody');
        else if (line.startsWith('Binary files')) binaryHeader(line, 'unrecognized');
        else if (!common(line)) write(line);
        break;
      case 'renameDiff':
        if (line.startsWith('rename from ')) addUnique(pathsToRemove, trimBase(applyRenames(line.slice('rename from '.length))));
        else if (line.startsWith('rename to ')) { /* nothing */ }
        else if (line.startsWith('index ')) state = 'modifyFileDiff';
        else if (line.startsWith('diff --git ')) diffBegin(line);
        else if (line.startsWith('Submodule ')) submoduleLine(line);
        break;
      case 'diffBody':
        if (line.startsWith('diff --git ')) diffBegin(line);
        else if (line.startsWith('Submodule ')) submoduleLine(line);
        else write(line);
        break;
    }
  }
  return { text: Buffer.from(out.length ? out.join('\n') + '\n' : ''), paths, binaryPaths, pathsToRemove };
}
