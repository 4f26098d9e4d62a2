/**
 * `stapelkit` command line. Each sub-command lives in `./commands/<name>.ts` and exports
 * `register(program)`. Errors a user can cause are StapelkitErrors: printed as one line, exit 1;
 * `--debug` adds the stack.
 */
import { Command } from 'commander';
import { isStapelkitError } from '../errors';
import { register as registerRender } from './commands/render';
import { register as registerConfig } from './commands/config';
import { register as registerDebug } from './commands/debug';
import { register as registerDaemon } from './commands/daemon';
import { register as registerBuild } from './commands/build';
import { register as registerRun } from './commands/run';

export function makeProgram(): Command {
  const program = new Command();
  program
    .name('stapelkit')
    .description('Compile werf.yaml into BuildKit LLB and build it on a BuildKit daemon')
    .option('--debug', 'show stack traces and protocol details on errors')
    .showHelpAfterError()
    .exitOverride();
  // Sub-commands register themselves here (one line each).
  registerRender(program);
  registerConfig(program);
  registerDebug(program);
  registerDaemon(program);
  registerBuild(program);
  registerRun(program);
  return program;
}

export function reportError(e: unknown, debug: boolean): number {
  if (isStapelkitError(e)) {
    process.stderr.write(`error: ${e.format()}\n`);
    if (debug && e.stack) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
  const err = e as { code?: string; exitCode?: number; message?: string; stack?: string };
  if (typeof err?.code === 'string' && err.code.startsWith('commander.')) {
    // commander already printed its message (or help).
    return err.exitCode ?? 1;
  }
  process.stderr.write(`error: ${err?.message ?? String(e)}\n`);
  if (debug && err?.stack) process.stderr.write(`${err.stack}\n`);
  else process.stderr.write('(internal error; run with --debug for the stack)\n');
  return 1;
}

export async function main(argv: string[]): Promise<number> {
  const program = makeProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    return reportError(e, argv.includes('--debug'));
  }
}

if (require.main === module) {
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
