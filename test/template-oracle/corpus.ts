/**
 * Reads the template corpus (test/template-corpus/*.cases), runs a case through Stapelkit's engine,
 * and through the Go oracle (test/template-oracle/main.go, built on demand).
 *
 * Case file format — a case starts with `=== name`; the lines up to the next marker are the
 * template (the newline before a marker is not part of a section). Optional sections:
 *   --- data              YAML whose top-level keys are added to the root data
 *   --- partial NAME      a .werf template (NAME relative to .werf)
 *   --- files             JSON {path: content} behind .Files
 *   --- filesB64          JSON {path: base64 bytes} behind .Files (binary files, invalid UTF-8)
 *   --- env               JSON {NAME: value} (the OS environment `env` sees)
 *   --- allowEnv          JSON [names or /regex/] (giterminism allowEnvVariables)
 *   --- loose             (no body) loose giterminism
 *   --- envName           the `.Env` string
 *   --- commitTz          the HEAD author's UTC offset in minutes (default 0)
 *   --- intended          reason the oracle cannot run it / differs; the case is then checked
 *   --- expect            … against this output, or
 *   --- expect-error      … against an error containing this text
 *   --- error-text-differs  reason: both must fail, messages may differ
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { minimatch } from 'minimatch';
import { renderWerfConfig } from '../../src/template/index';
import { fromYamlV2 } from '../../src/template/yaml';
import { isStapelkitError } from '../../src/errors';
import { goBytes } from '../../src/template/bytes';

export const ROOT = path.resolve(__dirname, '../..');
export const CORPUS_DIR = path.join(ROOT, 'test/template-corpus');
export const ORACLE_SRC = path.join(ROOT, 'test/template-oracle/main.go');
export const ORACLE_BIN = path.join(ROOT, 'test/template-corpus/.oracle-bin/oracle');

export interface Case {
  file: string;
  name: string;
  template: string;
  data?: string;
  partials: Record<string, string>;
  files: Record<string, string>;
  filesB64?: Record<string, string>;
  env: Record<string, string>;
  allowEnv: string[];
  loose: boolean;
  envName: string;
  commitTz: number;
  intended?: string;
  expect?: string;
  expectError?: string;
  errorTextDiffers?: string;
}

export function loadCorpus(): Case[] {
  const out: Case[] = [];
  for (const f of fs.readdirSync(CORPUS_DIR).filter((x) => x.endsWith('.cases')).sort()) {
    const text = fs.readFileSync(path.join(CORPUS_DIR, f), 'utf8');
    const lines = text.split('\n');
    let cur: Case | null = null;
    let section = 'template';
    let sectionArg = '';
    let buf: string[] = [];
    const flush = () => {
      if (!cur) return;
      const body = buf.join('\n');
      switch (section) {
        case 'template': cur.template = body; break;
        case 'data': cur.data = body; break;
        case 'partial': cur.partials[sectionArg] = body; break;
        case 'files': cur.files = JSON.parse(body); break;
        case 'filesB64': cur.filesB64 = JSON.parse(body); break;
        case 'env': cur.env = JSON.parse(body); break;
        case 'allowEnv': cur.allowEnv = JSON.parse(body); break;
        case 'loose': cur.loose = true; break;
        case 'envName': cur.envName = body; break;
        case 'commitTz': cur.commitTz = Number(body.trim()); break;
        case 'intended': cur.intended = body.trim(); break;
        case 'expect': cur.expect = body; break;
        case 'expect-error': cur.expectError = body.trim(); break;
        case 'error-text-differs': cur.errorTextDiffers = body.trim(); break;
        default: throw new Error(`${f}: case ${cur.name}: unknown section ${section}`);
      }
      buf = [];
    };
    for (const line of lines) {
      if (line.startsWith('=== ')) {
        flush();
        if (cur) out.push(cur);
        cur = { file: f, name: line.slice(4).trim(), template: '', partials: {}, files: {}, filesB64: {}, env: {}, allowEnv: [], loose: false, envName: '', commitTz: 0 };
        section = 'template';
        sectionArg = '';
        continue;
      }
      if (line.startsWith('--- ') && cur) {
        flush();
        const rest = line.slice(4).trim();
        const sp = rest.indexOf(' ');
        section = sp < 0 ? rest : rest.slice(0, sp);
        sectionArg = sp < 0 ? '' : rest.slice(sp + 1).trim();
        continue;
      }
      if (cur) buf.push(line);
    }
    // a file ends with a newline: drop the last empty line
    if (buf.length > 0 && buf[buf.length - 1] === '') buf.pop();
    flush();
    if (cur) out.push(cur);
  }
  return out;
}

export const COMMIT = { hash: '0123456789abcdef0123456789abcdef01234567', date: new Date('2024-03-05T14:07:09Z') };

function envAllowed(allow: string[], name: string): boolean {
  return allow.some((a) => (a.length > 1 && a.startsWith('/') && a.endsWith('/') ? new RegExp('^' + a.slice(1, -1) + '$').test(name) : a === name));
}

/** `bytes`: the output's exact bytes (a Go string may hold invalid UTF-8; `text` alone cannot say). */
export type Outcome = { ok: true; text: string; bytes?: Buffer } | { ok: false; error: string; code?: string };

export function runOurs(c: Case): Outcome {
  const files: Record<string, string | Buffer> = { ...c.files };
  for (const [k, v] of Object.entries(c.filesB64 ?? {})) files[k] = Buffer.from(v, 'base64');
  const norm = (p: string) => path.posix.normalize(p);
  try {
    const r = renderWerfConfig({
      main: { name: 'werf.yaml', text: c.template },
      templates: Object.entries(c.partials).map(([name, text]) => ({ name, text })),
      files: {
        get(p) {
          const k = norm(p);
          if (k in files) return files[k];
          throw new Error(`{{ .Files.Get ${JSON.stringify(k)} }}: file ${JSON.stringify(k)} not found`);
        },
        glob(pattern) {
          const res: Record<string, string | Buffer> = {};
          for (const [k, v] of Object.entries(files)) if (minimatch(k, pattern)) res[k] = v;
          return res;
        },
        exists(p) {
          const k = norm(p);
          return k in files || this.isDir(k);
        },
        isDir(p) {
          const k = norm(p);
          if (k === '.') return Object.keys(files).length > 0;
          return Object.keys(files).some((f) => f.startsWith(k + '/'));
        },
      },
      commit: { ...COMMIT, tzOffsetMinutes: c.commitTz },
      envName: c.envName,
      lookupEnv: (n) => (n in c.env ? c.env[n] : undefined),
      allowEnv: (n) => envAllowed(c.allowEnv, n),
      looseEnv: c.loose,
      extraData: c.data ? fromYamlV2(c.data) : undefined,
    });
    return { ok: true, text: r.text, bytes: goBytes(r.text) };
  } catch (e) {
    if (isStapelkitError(e)) return { ok: false, error: e.message, code: e.code };
    throw e;
  }
}

function goAvailable(): boolean {
  return spawnSync('go', ['version'], { encoding: 'utf8' }).status === 0 && fs.existsSync('/usr/share/gocode/src/github.com/Masterminds/sprig');
}

/** Why ensureOracle() returned null (for the skip message). */
export const ORACLE_MISSING =
  'the Go oracle needs golang-go, golang-github-masterminds-sprig-dev and golang-gopkg-yaml.v2-dev (make setup / scripts/install-deps.sh)';

function writableDir(dir: string): boolean {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Build the oracle if it is missing or older than main.go; null when Go + Sprig are not installed
 * (tests never install packages: that is scripts/install-deps.sh's job). A read-only checkout
 * builds it under the temp dir instead.
 */
export function ensureOracle(): string | null {
  const fresh = (bin: string) => fs.existsSync(bin) && fs.statSync(bin).mtimeMs >= fs.statSync(ORACLE_SRC).mtimeMs;
  if (fresh(ORACLE_BIN)) return ORACLE_BIN;
  const bin = writableDir(path.dirname(ORACLE_BIN)) ? ORACLE_BIN : path.join(os.tmpdir(), `stapelkit-oracle-${process.getuid?.() ?? 'u'}`, 'oracle');
  if (bin !== ORACLE_BIN && fresh(bin)) return bin;
  if (!goAvailable()) return null;
  const gopath = path.join(path.dirname(bin), 'gopath');
  fs.mkdirSync(gopath, { recursive: true });
  const r = spawnSync('go', ['build', '-o', bin, '.'], {
    cwd: path.dirname(ORACLE_SRC),
    encoding: 'utf8',
    env: { ...process.env, GO111MODULE: 'off', GOPATH: `${gopath}:/usr/share/gocode`, GOCACHE: path.join(gopath, 'cache'), GOFLAGS: '' },
    timeout: 300_000,
  });
  if (r.status !== 0) throw new Error('building the template oracle failed:\n' + r.stderr);
  return bin;
}

const ERR_MARK = '\u0000ERROR\u0000';

function oracleInput(c: Case) {
  return {
    template: c.template,
    partials: c.partials,
    files: c.files,
    filesB64: c.filesB64 ?? {},
    env: c.env,
    allowEnv: c.allowEnv,
    looseEnv: c.loose,
    envName: c.envName,
    data: c.data ?? '',
    commit: { hash: COMMIT.hash, date: COMMIT.date.toISOString().replace('.000Z', 'Z'), tzOffsetMinutes: c.commitTz },
  };
}

/** Run many cases through one oracle process (batch mode). */
export function runOracleBatch(bin: string, cs: Case[]): Map<Case, Outcome> {
  const r = spawnSync(bin, [], { input: JSON.stringify(cs.map(oracleInput)), encoding: 'utf8', timeout: 120_000, maxBuffer: 256 * 1024 * 1024, env: { ...process.env, TZ: 'UTC' } });
  if (r.status !== 0) throw new Error('oracle batch failed: ' + r.stderr.split('\n').slice(0, 5).join('\n'));
  const res = JSON.parse(r.stdout) as { ok: boolean; text?: string; bytes?: string; error?: string }[];
  const out = new Map<Case, Outcome>();
  cs.forEach((c, i) =>
    out.set(c, res[i].ok ? { ok: true, text: res[i].text ?? '', bytes: Buffer.from(res[i].bytes ?? '', 'base64') } : { ok: false, error: res[i].error ?? '' }),
  );
  return out;
}

export function runOracle(bin: string, c: Case): Outcome {
  const input = JSON.stringify(oracleInput(c));
  const r = spawnSync(bin, [], { input, timeout: 20_000, env: { ...process.env, TZ: 'UTC' } });
  if (r.status !== 0) return { ok: false, error: 'oracle crashed: ' + r.stderr.toString().split('\n').slice(0, 3).join(' ') };
  const out = r.stdout.toString('utf8');
  if (out.startsWith(ERR_MARK)) return { ok: false, error: out.slice(ERR_MARK.length) };
  return { ok: true, text: out, bytes: r.stdout };
}

/** Compare one case; returns a problem description or null. */
export function checkCase(c: Case, oracleBin: string | null, precomputed?: Outcome): string | null {
  const ours = runOurs(c);
  if (c.intended) {
    if (c.expectError !== undefined) {
      if (ours.ok) return `expected an error containing ${JSON.stringify(c.expectError)}, got output ${JSON.stringify(ours.text)}`;
      if (!ours.error.includes(c.expectError)) return `expected error containing ${JSON.stringify(c.expectError)}, got ${JSON.stringify(ours.error)}`;
      return null;
    }
    if (c.expect === undefined) return 'intended difference without expect/expect-error';
    if (!ours.ok) return `expected ${JSON.stringify(c.expect)}, got error ${ours.error}`;
    if (ours.text !== c.expect) return `expected ${JSON.stringify(c.expect)}, got ${JSON.stringify(ours.text)}`;
    return null;
  }
  if (!oracleBin && !precomputed) return 'oracle unavailable';
  const go = precomputed ?? runOracle(oracleBin!, c);
  if (go.ok && ours.ok) {
    // byte for byte: a Go string may hold invalid UTF-8, which `text` cannot show
    if (go.bytes && ours.bytes) {
      return go.bytes.equals(ours.bytes) ? null : `output bytes differ:\n  go:   ${go.bytes.toString('hex')} ${JSON.stringify(go.text)}\n  ours: ${ours.bytes.toString('hex')} ${JSON.stringify(ours.text)}`;
    }
    return go.text === ours.text ? null : `output differs:\n  go:   ${JSON.stringify(go.text)}\n  ours: ${JSON.stringify(ours.text)}`;
  }
  if (!go.ok && !ours.ok) {
    if (c.errorTextDiffers || go.error === ours.error) return null;
    return `error text differs:\n  go:   ${JSON.stringify(go.error)}\n  ours: ${JSON.stringify(ours.error)}`;
  }
  if (!go.ok) return `go failed (${JSON.stringify(go.error)}), ours rendered ${JSON.stringify((ours as { text: string }).text)}`;
  return `ours failed (${JSON.stringify((ours as { error: string }).error)}), go rendered ${JSON.stringify(go.text)}`;
}
