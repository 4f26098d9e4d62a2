/**
 * `stapelkit` command line. Each sub-command lives in `./commands/<name>.ts` and exports
 * `register(program)`. Errors a user can cause are StapelkitErrors: printed as one line, exit 1;
 * `--debug` adds the stack.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { setDebugDaemon } from '../daemon/cli-options';
import { isStapelkitError } from '../errors';
import { register as registerRender } from './commands/render';
import { register as registerConfig } from './commands/config';
import { register as registerDebug } from './commands/debug';
import { register as registerDaemon } from './commands/daemon';
import { register as registerBuild } from './commands/build';
import { register as registerRun } from './commands/run';
import { register as registerCompile } from './commands/compile';
import { werfBool } from './commands/project-options';

/** package.json's version, found upwards from here (src/cli under tsx, dist/src/cli compiled). */
function packageVersion(): string {
  for (let d = __dirname, i = 0; i < 6; i++, d = path.dirname(d)) {
    const p = path.join(d, 'package.json');
    if (fs.existsSync(p)) return (JSON.parse(fs.readFileSync(p, 'utf8')) as { version: string }).version;
  }
  return '0.0.0';
}
const VERSION = packageVersion();

/** --debug, werf's --log-debug, or $WERF_LOG_DEBUG (werf's boolean spelling). */
export function debugRequested(argv: readonly string[], environ: Record<string, string | undefined> = process.env): boolean {
  return argv.includes('--debug') || argv.includes('--log-debug') || werfBool(environ.WERF_LOG_DEBUG);
}

export function makeProgram(): Command {
  const program = new Command();
  program
    .name('stapelkit')
    .description('Compile werf.yaml into BuildKit LLB and build it on a BuildKit daemon')
    .version(VERSION, '--version', 'print the Stapelkit version')
    .option('--debug', 'show stack traces and protocol details on errors')
    .option('--log-debug', "the same as --debug, werf's name (default $WERF_LOG_DEBUG)")
    .showHelpAfterError()
    .exitOverride();
  // Sub-commands register themselves here (one line each).
  registerRender(program);
  registerConfig(program);
  registerDebug(program);
  registerDaemon(program);
  registerBuild(program);
  registerRun(program);
  registerCompile(program);
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
  setDebugDaemon(debugRequested(argv));
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    return reportError(e, debugRequested(argv));
  }
}

if (require.main === module) {
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
