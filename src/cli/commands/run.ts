/**
 * `stapelkit run [IMAGE] [-- COMMAND ARG...]`: build the project (reusing stored stages) and run one
 * final image once on the daemon, as werf's `werf run` does. dockerd only (it runs containers).
 */
import { Command } from 'commander';
import { StapelkitError } from '../../errors';
import { addDaemonOptions, connectWithFlags } from '../../daemon/cli-options';
import { DockerApi } from '../../daemon/docker-api';
import type { BuildFlags } from '../../build/run';

const runBuild: typeof import('../../build/run').runBuild = (f, io) => (require('../../build/run') as typeof import('../../build/run')).runBuild(f, io);
import { addProjectOptions } from './project-options';

export function register(program: Command): void {
  const cmd = program
    .command('run')
    .description('build the project and run one of its images once (dockerd only), like werf run')
    .argument('[image]', 'image to run (default: the only final image)')
    .argument('[command...]', 'command to run instead of the image\'s (after --)');
  addDaemonOptions(addProjectOptions(cmd)).action(async (image: string | undefined, command: string[], opts: BuildFlags) => {
    const quiet = { write: () => true } as unknown as NodeJS.WritableStream;
    const res = await runBuild({ ...opts, images: image ? [image] : [] }, { out: quiet, err: process.stderr });
    const finals = res.images.filter((i) => i.image.final && (!image || i.image.name === image));
    if (finals.length !== 1) throw new StapelkitError('RUN_IMAGE', image ? `image "${image}" is not a final image of the project` : `the project has ${finals.length} final images: name the one to run`, { hint: finals.map((f) => f.image.name || '~').join(', ') });
    const target = finals[0].last.imageName;
    const client = await connectWithFlags(opts, { say: (l) => process.stderr.write(`${l}\n`) });
    try {
      const addr = client.address;
      if (addr.kind !== 'dockerd' || addr.net !== 'unix') throw new StapelkitError('RUN_NEEDS_DOCKERD', `stapelkit run needs a local dockerd to run containers, not ${addr.text}`);
      const r = await new DockerApi(addr.path).run(target, command, { timeoutMs: 10 * 60_000 });
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      if (r.exitCode !== 0) throw new StapelkitError('RUN_EXIT', `${target} exited with code ${r.exitCode}`);
    } finally {
      await client.close();
    }
  });
}
