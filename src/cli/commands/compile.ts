/**
 * `stapelkit compile [IMAGE...]`: the project's images as one LLB Definition on stdout (the bytes
 * `buildctl build` reads on stdin, or `--format json`), with the `buildctl` flags it needs on stderr.
 */
import { Command, Option } from 'commander';
import { addDaemonOptions } from '../../daemon/cli-options';
import type { CompileFlags } from '../../build/compile-run';

const runCompile: typeof import('../../build/compile-run').runCompile = (f, io) => (require('../../build/compile-run') as typeof import('../../build/compile-run')).runCompile(f, io);
import { addProjectOptions } from './project-options';

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

export function register(program: Command): void {
  const cmd = program
    .command('compile')
    .description('print the LLB Definition of the images (all final ones, or those named) for `buildctl build`; a daemon is asked only for base image configs and import checksums')
    .argument('[image...]', 'image name patterns (globs; !pattern excludes)')
    .addOption(new Option('--platform <platform>', 'target platform(s), comma-separated or repeated').argParser(collect).env('WERF_PLATFORM'))
    .addOption(new Option('--format <format>', 'pb: the Definition bytes; json: a readable dump').choices(['pb', 'json']).default('pb'))
    .addOption(new Option('--out-dir <dir>', 'where git content, secrets files and image configs are written (default: $XDG_CACHE_HOME/stapelkit/compile/<project>)'))
    .addOption(new Option('--llb-caps <set>', 'LLB caps compiled against: v0.8 (any BuildKit since dockerd 20.10) or daemon (ask it)').choices(['v0.8', 'daemon']).default('v0.8'))
    .addOption(new Option('--secret <spec>', 'extra build secret: id=ID,env=VAR | id=ID,src=FILE').argParser(collect))
    .addOption(new Option('--ssh <spec>', 'an ssh agent the graph mounts: default | default=/path/to/sock').argParser(collect))
    .addOption(new Option('--parallel-tasks-limit <n>', 'images compiled at the same time').default('5').env('WERF_PARALLEL_TASKS_LIMIT'));
  addDaemonOptions(addProjectOptions(cmd)).action(async (images: string[], opts: CompileFlags) => {
    await runCompile({ ...opts, images }, { out: process.stdout, err: process.stderr });
  });
}
