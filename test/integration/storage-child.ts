/**
 * A second `stapelkit build`-like process for the storage tests (not a test file): stores one stage
 * in the daemon image store or a registry and prints the stored image name as JSON.
 *
 *   node --import tsx test/integration/storage-child.ts <daemon|registry> <repo> <lockDir> <digest> <shell> <base image>
 */
import { connect } from '../../src/daemon/connect';
import { image, marshal } from '../../src/llb';
import { openStagesStorage } from '../../src/storage';
import { ENV } from './harness/daemon';

async function main(): Promise<void> {
  const [kind, repo, lockDir, digest, shell, base] = process.argv.slice(2);
  const client = await connect(process.env[ENV.addr], { embedded: false });
  try {
    const storage = openStagesStorage({ client, project: repo, repo: kind === 'registry' ? repo : undefined, lockDir });
    process.stdout.write(JSON.stringify({ event: 'storing' }) + '\n');
    const def = marshal(image(base).run({ shell }).root(), { platform: 'linux/amd64' });
    const s = await storage.store({ digest, definition: def, imageConfig: { architecture: 'amd64', os: 'linux', config: { Labels: { 'stapelkit.test/by': `child-${process.pid}` } } } });
    process.stdout.write(JSON.stringify({ event: 'stored', imageName: s.imageName }) + '\n');
  } finally {
    await client.close();
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
