/**
 * Keeps a private test dockerd (with the busybox fixture images) running for manual work:
 *   node --import tsx scripts/test-daemon.ts [envfile]
 * prints the environment the integration tests use (also written to envfile as KEY=VALUE lines)
 * and stops the daemon on SIGINT/SIGTERM. Then: `set -a; . envfile; node --import tsx test/integration/x.test.ts`.
 */
import * as fs from 'node:fs';
import { startTestDaemon } from '../test/integration/harness/daemon';

async function main() {
  const d = await startTestDaemon();
  const lines = Object.entries(d.env).map(([k, v]) => `${k}=${v}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  if (process.argv[2]) fs.writeFileSync(process.argv[2], `${lines.map((l) => l.replace(/=(.*)$/, "='$1'")).join('\n')}\n`);
  // startTestDaemon's own SIGINT/SIGTERM handlers stop the daemon and end this process.
  setInterval(() => undefined, 1 << 30);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
