/**
 * The test runner behind `make test`. Each `*.test.ts` file runs in its own Node process (uvu
 * prints a per-file summary); integration tests share one daemon that this runner prepares before
 * them and stops afterwards (a private dockerd, or the one STAPELKIT_TEST_ADDR names; see
 * test/integration/harness/daemon.ts). The last line is `N passed, N failed[, N skipped]`.
 *
 * Usage: node --import tsx test/run.ts [unit|integration|<path substring>...]
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const FILE_TIMEOUT_MS = 20 * 60 * 1000;

function findTests(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const ent of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = path.join(dir, ent.name);
    if (ent.isDirectory()) out.push(...findTests(p));
    else if (ent.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

interface FileResult { file: string; passed: number; failed: number; skipped: number; ms: number; crashed?: string }

function stripAnsi(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, '');
}

function runFile(file: string, env: NodeJS.ProcessEnv): Promise<FileResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: ROOT,
      env: { ...env, FORCE_COLOR: '0', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString();
      process.stdout.write(b);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => child.kill('SIGKILL'), FILE_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const text = stripAnsi(out);
      const total = sumOf(text, 'Total');
      const passed = sumOf(text, 'Passed');
      const skipped = sumOf(text, 'Skipped');
      // uvu's Total counts the tests that ran; skipped ones are only in Skipped.
      const res: FileResult = { file, passed, failed: Math.max(0, total - passed), skipped, ms: Date.now() - started };
      if ((total === 0 && skipped === 0) || (code !== 0 && res.failed === 0)) {
        // The file died before (or after) uvu could count: count it as one failure.
        res.failed += 1;
        res.crashed = signal ? `killed by ${signal}` : `exit code ${code}`;
      }
      resolve(res);
    });
  });
}

function sumOf(text: string, label: string): number {
  let n = 0;
  for (const m of text.matchAll(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'gm'))) n += Number(m[1]);
  return n;
}

async function main() {
  const filters = process.argv.slice(2);
  const unit = findTests(path.join(ROOT, 'test', 'unit'));
  const integration = findTests(path.join(ROOT, 'test', 'integration'));
  const pick = (files: string[], kind: string) =>
    filters.length === 0 ? files : files.filter((f) => filters.some((q) => q === kind || path.relative(ROOT, f).includes(q)));
  const unitFiles = pick(unit, 'unit');
  const integrationFiles = pick(integration, 'integration');
  const results: FileResult[] = [];

  for (const f of unitFiles) results.push(await runFile(f, process.env));

  if (integrationFiles.length > 0) {
    // One private daemon for all integration files; its own data root, exec root and bridge.
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { startTestDaemon } = require('./integration/harness/daemon') as {
      startTestDaemon(): Promise<{ env: Record<string, string>; stop(): Promise<void> }>;
    };
    let daemon: { env: Record<string, string>; stop(): Promise<void> } | undefined;
    try {
      daemon = await startTestDaemon();
    } catch (e) {
      console.error(`could not start the test daemon: ${(e as Error).message}`);
      for (const f of integrationFiles) results.push({ file: f, passed: 0, failed: 1, skipped: 0, ms: 0, crashed: 'no daemon' });
    }
    if (daemon) {
      try {
        const env = { ...process.env, ...daemon.env };
        for (const f of integrationFiles) results.push(await runFile(f, env));
      } finally {
        await daemon.stop();
      }
    }
  }

  console.log('\n── summary ──');
  for (const r of results) {
    const mark = r.failed > 0 ? 'FAIL' : 'ok  ';
    const skipped = r.skipped ? `, ${r.skipped} skipped` : '';
    console.log(`${mark} ${path.relative(ROOT, r.file)}  ${r.passed} passed, ${r.failed} failed${skipped}${r.crashed ? ` (${r.crashed})` : ''}  ${(r.ms / 1000).toFixed(1)}s`);
  }
  const passed = results.reduce((a, r) => a + r.passed, 0);
  const failed = results.reduce((a, r) => a + r.failed, 0);
  const skipped = results.reduce((a, r) => a + r.skipped, 0);
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exitCode = failed > 0 || results.length === 0 ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  console.log('0 passed, 1 failed');
  process.exitCode = 1;
});
