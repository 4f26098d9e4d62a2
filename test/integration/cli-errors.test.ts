/**
 * Bad input to the real CLI: one `error:` line, a non-zero exit code, no stack trace — unless
 * `--debug` asks for it. Every case names an explicit (bad) address, so no daemon is started.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, ROOT, STACK_LINE, type CliResult } from './cli-run';
import { makeRepo, removeRepo } from '../unit/git/repo';

const t = suite<{ tmp: string }>('cli errors');

t.before((ctx) => {
  ctx.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-clierr-'));
});
t.after((ctx) => {
  fs.rmSync(ctx.tmp, { recursive: true, force: true });
});

/** The environment without anything that names a daemon. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.BUILDKIT_HOST;
  delete env.DOCKER_HOST;
  return env;
}

function assertOneErrorLine(r: CliResult, pattern: RegExp): void {
  assert.ok(r.code !== 0 && r.code !== null, `exit code ${r.code}`);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.is(lines.length, 1, `exactly one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], pattern);
  assert.not.match(r.stderr, STACK_LINE);
  assert.is(r.stdout, '', 'nothing on stdout');
}

const example = (...args: string[]) => runCli(['build', '--dir', 'examples/hello', ...args], { env: cleanEnv(), timeoutMs: 60_000 });

t('unknown scheme in --addr', async () => {
  assertOneErrorLine(await example('--addr', 'ftp://build.example:21'), /unknown daemon address scheme "ftp"/);
});

t('malformed address', async () => {
  assertOneErrorLine(await example('--addr', 'tcp://no-port-here'), /invalid daemon address .*expected host:port/);
});

t('missing TLS files', async ({ tmp }) => {
  const ca = path.join(tmp, 'missing-ca.pem');
  const r = await example('--addr', 'tcp://127.0.0.1:1', '--tlscacert', ca, '--tlscert', path.join(tmp, 'cert.pem'), '--tlskey', path.join(tmp, 'key.pem'));
  assertOneErrorLine(r, /cannot read TLS files: CA certificate .*missing-ca\.pem/);
});

t('unreachable sockets: buildkitd and dockerd', async ({ tmp }) => {
  const gone = path.join(tmp, 'nobody.sock');
  assertOneErrorLine(await example('--addr', `unix://${gone}`), /cannot reach the BuildKit daemon at unix:\/\/.*nobody\.sock: .*does not exist/);
  assertOneErrorLine(await example('--addr', `docker://unix://${gone}`), /cannot reach the Docker daemon at docker:\/\/unix:\/\/.*does not exist/);
  // A socket file nobody listens on.
  const dead = path.join(tmp, 'dead.sock');
  const net = await import('node:net');
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(dead, r));
  await new Promise<void>((r) => srv.close(() => r()));
  if (!fs.existsSync(dead)) fs.writeFileSync(dead, '');
  assertOneErrorLine(await example('--addr', `unix://${dead}`), /cannot reach the BuildKit daemon .*nothing accepts connections/);
});

t('bad project directory', async ({ tmp }) => {
  const r = await runCli(['build', '--dir', path.join(tmp, 'nope'), '--addr', 'unix:///nonexistent.sock'], { env: cleanEnv() });
  assert.ok(r.code !== 0 && r.code !== null, `exit code ${r.code}`);
  assert.match(r.stderr, /nope/);
  assert.not.match(r.stderr, STACK_LINE);
});

t('an unknown --progress mode is refused by the option parser', async () => {
  const r = await example('--progress', 'fancy', '--addr', 'unix:///nonexistent.sock');
  assert.ok(r.code !== 0);
  assert.match(r.stderr, /--progress.*fancy/);
  assert.not.match(r.stderr, STACK_LINE);
});

t('--debug adds the stack trace', async () => {
  const r = await runCli(['--debug', 'build', '--dir', 'examples/hello', '--addr', 'ftp://build.example:21'], { env: cleanEnv() });
  assert.ok(r.code !== 0);
  assert.match(r.stderr, /^error: unknown daemon address scheme "ftp"/m);
  assert.match(r.stderr, STACK_LINE);
  assert.match(r.stderr, /transport\.(ts|js)/, 'the stack points into the transport code');
});

// ---------------------------------------------------------------------------------------------
// Project commands (render, config): flags, WERF_* variables, YAML limits. No daemon involved.

const META = 'project: demo\nconfigVersion: 1\n';

function project(files: Record<string, string>): string {
  return makeRepo({ 'werf.yaml': `${META}---\nimage: app\nfrom: alpine\n`, ...files });
}
const render = (args: string[], env: NodeJS.ProcessEnv = cleanEnv()) => runCli(['render', ...args], { env });

t('--dir /nonexistent: a clear error, no ENOENT, no "internal error"', async () => {
  const r = await render(['--dir', '/nonexistent']);
  assertOneErrorLine(r, /^error: the project directory "\/nonexistent" does not exist \(check --dir\)$/);
  assertOneErrorLine(await runCli(['config', '--dir', '/nonexistent'], { env: cleanEnv() }), /does not exist/);
  assertOneErrorLine(await render([], { ...cleanEnv(), WERF_DIR: '/nonexistent' }), /"\/nonexistent" does not exist \(check \$WERF_DIR\)$/);
});

t('render IMAGE whose document has a YAML error reports the YAML error', async () => {
  const dir = project({ 'werf.yaml': `${META}---\nimage: app\nfrom: alpine\nshell: [unclosed\n` });
  try {
    const r = await render(['app', '--dir', dir]);
    assertOneErrorLine(r, /^error: werf\.yaml:\d+:\d+: document #2: YAML: /);
    assert.not.match(r.stderr, /not found/);
  } finally {
    removeRepo(dir);
  }
});

t('an alias bomb under deploy: refused at once, positioned, in render IMAGE and config', async () => {
  let bomb = '  a0: &a0 ["x","x","x","x","x","x","x","x","x"]\n';
  for (let i = 1; i < 9; i++) bomb += `  a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(',')}]\n`;
  const dir = project({ 'werf.yaml': `${META}deploy:\n${bomb}---\nimage: app\nfrom: alpine\n` });
  try {
    for (const args of [['render', 'app', '--dir', dir], ['config', '--dir', dir]]) {
      const r = await runCli(args, { env: cleanEnv(), timeoutMs: 30_000 });
      assertOneErrorLine(r, /^error: werf\.yaml:7:28: document #1: YAML: document contains excessive aliasing \(/);
    }
  } finally {
    removeRepo(dir);
  }
});

t('--config: absolute paths accepted inside the project (resolved like werf), refused outside the work tree', async () => {
  const dir = project({ 'ci/werf.yaml': `${META}---\nimage: ci\nfrom: alpine\n` });
  try {
    const ok = await render(['--dir', dir, '--config', path.join(dir, 'ci/werf.yaml')]);
    assert.is(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /image: ci/);
    assertOneErrorLine(await render(['--dir', dir, '--config', '/etc/hostname']), /^error: the werf config "\/etc\/hostname" must be in the project git work tree ".*" \(check --config\)$/);
    // WERF_CONFIG is resolved against the working directory, as werf does.
    const env = await render(['--dir', dir], { ...cleanEnv(), WERF_CONFIG: path.relative(ROOT, path.join(dir, 'ci/werf.yaml')) });
    assert.is(env.code, 0, env.stderr);
    assert.match(env.stdout, /image: ci/);
  } finally {
    removeRepo(dir);
  }
});

t('--giterminism-config nosuch.yaml exits non-zero with a message', async () => {
  const dir = project({});
  try {
    assertOneErrorLine(await render(['--dir', dir, '--giterminism-config', 'nosuch.yaml']), /^error: the giterminism config "nosuch\.yaml" does not exist in the project directory/);
    assertOneErrorLine(await render(['--dir', dir], { ...cleanEnv(), WERF_GITERMINISM_CONFIG: 'nosuch.yaml' }), /"nosuch\.yaml" does not exist/);
  } finally {
    removeRepo(dir);
  }
});

t('--config-templates-dir ../.. cannot walk outside the project', async () => {
  const dir = project({ 'sub/werf.yaml': `${META}---\nimage: app\nfrom: alpine\n` });
  try {
    assertOneErrorLine(await render(['--dir', dir, '--config-templates-dir', '../..']), /^error: the werf configuration templates directory ".*" must be in the project git work tree ".*" \(check --config-templates-dir\)$/);
    // Inside the work tree but outside the project directory.
    assertOneErrorLine(await render(['--dir', path.join(dir, 'sub'), '--config-templates-dir', dir]), /must be in the project directory ".*sub"/);
  } finally {
    removeRepo(dir);
  }
});

t('.Files.Get "../../etc/x" names the .. and suggests no giterminism setting', async () => {
  const dir = project({ 'werf.yaml': `${META}---\nimage: app\nfrom: alpine\nshell:\n  install: {{ .Files.Get "../../etc/x" }}\n` });
  try {
    const r = await render(['--dir', dir]);
    assertOneErrorLine(r, /\{\{ \.Files\.Get "\.\.\/\.\.\/etc\/x" \}\}: the path leads outside the project directory through "\.\."/);
    assert.not.match(r.stderr, /giterminism/);
  } finally {
    removeRepo(dir);
  }
});

t('a giterminism refusal names the key that allows it; --loose-giterminism / WERF_LOOSE_GITERMINISM lift it', async () => {
  const dir = project({ 'werf.yaml': `${META}---\nimage: app\nfrom: alpine\nshell:\n  install: echo {{ env "SKT_NAME" "d" }}\n` });
  try {
    const r = await render(['--dir', dir]);
    assertOneErrorLine(r, /env name 'SKT_NAME' not allowed \(to allow it, add `config\.goTemplateRendering\.allowEnvVariables: \[SKT_NAME\]` to werf-giterminism\.yaml\)$/);
    const loose = await render(['--dir', dir, '--loose-giterminism'], { ...cleanEnv(), SKT_NAME: 'v1' });
    assert.is(loose.code, 0, loose.stderr);
    assert.match(loose.stdout, /install: echo v1/);
    const viaEnv = await render(['--dir', dir], { ...cleanEnv(), SKT_NAME: 'v2', WERF_LOOSE_GITERMINISM: 'yes' });
    assert.match(viaEnv.stdout, /install: echo v2/);
  } finally {
    removeRepo(dir);
  }
});

t('--version, --debug-templates, --config-render-path, WERF_DIR and WERF_ENV', async () => {
  const v = await runCli(['--version'], { env: cleanEnv() });
  assert.is(v.code, 0);
  assert.is(v.stdout, `${(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`);
  const dir = project({ 'werf.yaml': `${META}---\nimage: app\nfrom: alpine\nshell:\n  install: echo {{ .Env }}{{ printf_debug "env is %s" .Env }}\n` });
  const out = path.join(dir, '..', `render-${path.basename(dir)}.yaml`);
  try {
    const quiet = await render(['--dir', dir, '--env', 'prod']);
    assert.is(quiet.stderr, '');
    const r = await render(['--debug-templates', '--config-render-path', out], { ...cleanEnv(), WERF_DIR: dir, WERF_ENV: 'stage' });
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /install: echo stage\n/);
    assert.is(r.stderr, '-- printf_debug format "env is %s" result:\nenv is stage\n\n');
    assert.is(fs.readFileSync(out, 'utf8'), r.stdout);
    const viaEnv = await render(['--dir', dir], { ...cleanEnv(), WERF_DEBUG_TEMPLATES: '1' });
    assert.match(viaEnv.stderr, /^-- printf_debug format/);
  } finally {
    fs.rmSync(out, { force: true });
    removeRepo(dir);
  }
});

t.run();
