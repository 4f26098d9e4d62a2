/**
 * `stapelkit example [--dir D] [--tag T] [--no-run] [daemon flags]`: build the example project
 * (default examples/hello) into an image and run it once. See src/example.
 */
import { Command } from 'commander';
import { addDaemonOptions, type DaemonFlags } from '../../daemon/cli-options';
import { DEFAULT_EXAMPLE_TAG, runExample } from '../../example';

export function register(program: Command): void {
  const cmd = program
    .command('example')
    .description('build the example project into an image (busybox base, local context, a RUN with a cache mount) and run it once')
    .option('--dir <dir>', 'project directory', 'examples/hello')
    .option('--tag <name>', 'image name', DEFAULT_EXAMPLE_TAG)
    .option('--no-run', 'do not run the image after building it');
  addDaemonOptions(cmd).action(async (opts: DaemonFlags & { dir: string; tag: string; run: boolean }) => {
    await runExample({ ...opts, debug: !!cmd.optsWithGlobals().debug }, { out: process.stdout, err: process.stderr });
  });
}
