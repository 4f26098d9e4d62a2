/**
 * `stapelkit build [IMAGE...]`: build the werf project's images on a BuildKit daemon, reusing the
 * stages the stages storage already has (werf's `werf build`), and `stapelkit stages [IMAGE...]`:
 * list every stage digest and whether it is stored, without building. Flag names are werf's where
 * werf has the flag.
 */
import { Command, Option } from 'commander';
import { addDaemonOptions } from '../../daemon/cli-options';
import type { BuildFlags } from '../../build/run';
import { startBuild } from '../../build/early-start';
import { addProjectOptions } from './project-options';

/**
 * The build shell is loaded when a build runs (not for `--help` or other commands), and after the
 * first git reads and the daemon dial have started (startBuild): it loads while they run.
 */
const runBuild = async (f: BuildFlags, io: { out: NodeJS.WritableStream; err: NodeJS.WritableStream }) => {
  const early = startBuild(f, process.env, (line) => io.err.write(`${line}\n`));
  // One turn of the event loop first: the dial gets its request onto the socket before the
  // build modules load (synchronously, ~20 ms), so the daemon answers meanwhile.
  await new Promise((resolve) => setImmediate(resolve));
  return (require('../../build/run') as typeof import('../../build/run')).runBuild(f, io, early);
};

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

function addBuildOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--repo <repo>', 'stages storage: a registry repository (default: the daemon image store, repository <project>)').env('WERF_REPO'))
    .addOption(new Option('--platform <platform>', 'target platform(s), comma-separated or repeated (werf: --platform)').argParser(collect).env('WERF_PLATFORM'))
    .addOption(new Option('-p, --parallel [n]', 'build independent images in parallel (a number sets the limit; false disables)').default(true))
    .addOption(new Option('--parallel-tasks-limit <n>', 'images built at the same time').default('5').env('WERF_PARALLEL_TASKS_LIMIT'))
    .addOption(new Option('--add-custom-tag <tag>', 'also tag each final image (%image%, %image_slug%, %image_safe_slug%, %image_content_based_tag%)').argParser(collect))
    .addOption(new Option('--secret <spec>', 'extra build secret for user stages: id=ID,env=VAR | id=ID,src=FILE (as docker buildx)').argParser(collect))
    .addOption(new Option('--ssh <spec>', 'forward an ssh agent to user stages: default | default=/path/to/sock').argParser(collect))
    .addOption(new Option('--explain', 'say why each built stage was built: which digest inputs changed since the stored stage'))
    .addOption(new Option('--save-build-report', 'write the build report (werf format)').env('WERF_SAVE_BUILD_REPORT'))
    .addOption(new Option('--build-report-path <path>', 'build report path (.json or .env)').default('.werf-build-report.json').env('WERF_BUILD_REPORT_PATH'));
}

export function register(program: Command): void {
  const build = program.command('build').description('build the images of a werf project (all, or the IMAGE patterns given) on a BuildKit daemon').argument('[image...]', 'image name patterns (globs; !pattern excludes)');
  addDaemonOptions(addBuildOptions(addProjectOptions(build))).action(async (images: string[], opts: BuildFlags) => {
    await runBuild({ ...opts, images }, { out: process.stdout, err: process.stderr });
  });

  const stages = program.command('stages').description('list every stage digest of the images and whether the stages storage has it, without building').argument('[image...]', 'image name patterns');
  addDaemonOptions(addBuildOptions(addProjectOptions(stages))).action(async (images: string[], opts: BuildFlags) => {
    await runBuild({ ...opts, images, dryRun: true }, { out: process.stdout, err: process.stderr });
  });
}
