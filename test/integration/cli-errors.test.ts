/**
 * Bad input to the real CLI: one `error:` line, a non-zero exit code, no stack trace — unless
 * `--debug` asks for it. Every case names an explicit (bad) address, so no daemon is started.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, STACK_LINE, type CliResult } from './cli-run';

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

t.run();
