/**
 * Child process of lazy-load.test.ts (not a test file): walks what a no-op `stapelkit build` and an
 * offline `stapelkit compile` load — the CLI with the build and compile commands, the modules their
 * actions require, a BuildkitClient over a real (dummy) socket, the build's Session, and a whole
 * offline compile (the real command: its Definition goes to stdout) of the project at argv[2] —
 * then appends one JSON line of the npm packages in require.cache to the report file argv[4]; then
 * loads grpc-js and protobufjs the way a solve does and appends a second line (so the test sees
 * that its check notices them).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

const SRC = path.resolve(__dirname, '..', '..', '..', 'src');

function packages(): string[] {
  const out = new Set<string>();
  for (const f of Object.keys(require.cache)) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f);
    if (m) out.add(m[1]);
  }
  return [...out].sort();
}

/** Node's built-in modules loaded so far (process.moduleLoadList: `NativeModule <id>` entries). */
function builtins(): string[] {
  const list = (process as unknown as { moduleLoadList?: string[] }).moduleLoadList ?? [];
  return list.filter((l) => l.startsWith('NativeModule ')).map((l) => l.slice('NativeModule '.length));
}

async function main(): Promise<void> {
  const [projectDir, outDir, report] = process.argv.slice(2);
  const cli = require(path.join(SRC, 'cli', 'main')) as typeof import('../../../src/cli/main');
  cli.makeProgram(['node', 'stapelkit', 'build']);
  cli.makeProgram(['node', 'stapelkit', 'compile']);
  // What the build and compile actions require when they run.
  for (const m of ['build/run', 'build/compile-run', 'daemon/connect', 'storage', 'session']) require(path.join(SRC, m));

  // A client is opened for every build, but a no-op one makes no gRPC call.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-lazy-'));
  const sock = path.join(tmp, 'buildkitd.sock');
  const server = net.createServer((c) => c.destroy());
  await new Promise<void>((r) => server.listen(sock, r));
  const { connectTo } = require(path.join(SRC, 'buildkit', 'client')) as typeof import('../../../src/buildkit/client');
  const { parseAddress } = require(path.join(SRC, 'buildkit', 'transport')) as typeof import('../../../src/buildkit/transport');
  const client = await connectTo(parseAddress(`unix://${sock}`));
  const { Session } = require(path.join(SRC, 'session')) as typeof import('../../../src/session');
  const session = new Session({ name: 'lazy', syncedDirs: { context: { dir: tmp } } });
  session.metadata();
  await session.close();

  const code = await cli.main(['node', 'stapelkit', 'compile', '--dir', projectDir, '--out-dir', outDir, '--addr', 'unix:///nonexistent.sock']);
  if (code !== 0) throw new Error(`compile exited ${code}`);
  fs.appendFileSync(report, `${JSON.stringify({ phase: 'no-op', packages: packages(), builtins: builtins() })}\n`);

  // What the first solve does: the Control stubs (grpc-js, the .proto files).
  await client.listWorkers().catch(() => undefined);
  await client.close();
  server.close();
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.appendFileSync(report, `${JSON.stringify({ phase: 'solve', packages: packages() })}\n`);
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
