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
import { setDeferredCaFile } from '../util/extra-ca';
import { setBundledRpc, type BundledRpc } from '../util/rpc-deps';
import { werfBool } from './commands/project-options';

type Register = (program: Command) => void;
/**
 * Sub-command modules by the command names they register, in help order. A module is required only
 * when its command runs (or for help): each pulls in its own dependency tree (config + yaml +
 * template, llb + protobufjs, dockerd, …), which dominated a no-op build's start.
 */
const COMMAND_MODULES: ReadonlyArray<{ names: readonly string[]; load: () => Register }> = [
  { names: ['render'], load: () => (require('./commands/render') as typeof import('./commands/render')).register },
  { names: ['config'], load: () => (require('./commands/config') as typeof import('./commands/config')).register },
  { names: ['debug'], load: () => (require('./commands/debug') as typeof import('./commands/debug')).register },
  { names: ['daemon'], load: () => (require('./commands/daemon') as typeof import('./commands/daemon')).register },
  { names: ['build', 'stages'], load: () => (require('./commands/build') as typeof import('./commands/build')).register },
  { names: ['run'], load: () => (require('./commands/run') as typeof import('./commands/run')).register },
  { names: ['compile'], load: () => (require('./commands/compile') as typeof import('./commands/compile')).register },
];

/** The sub-command argv names (the first argument after node and the script that is not an option), if any. */
export function commandName(argv: readonly string[]): string | undefined {
  return argv.slice(2).find((a) => !a.startsWith('-'));
}

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

/** `argv` given: only the module of the command it names is loaded (all of them for help, no command or an unknown one). */
export function makeProgram(argv?: readonly string[]): Command {
  const program = new Command();
  program
    .name('stapelkit')
    .description('Compile werf.yaml into BuildKit LLB and build it on a BuildKit daemon')
    .version(VERSION, '--version', 'print the Stapelkit version')
    .option('--debug', 'show stack traces and protocol details on errors')
    .option('--log-debug', "the same as --debug, werf's name (default $WERF_LOG_DEBUG)")
    .showHelpAfterError()
    .exitOverride();
  const name = argv ? commandName(argv) : undefined;
  const only = name === undefined ? undefined : COMMAND_MODULES.find((m) => m.names.includes(name));
  for (const m of only ? [only] : COMMAND_MODULES) m.load()(program);
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

export interface MainOptions {
  /** $NODE_EXTRA_CA_CERTS as bin/stapelkit kept it from Node's start-up (src/util/extra-ca.ts). */
  deferredCaCerts?: string;
  /** grpc-js, protobufjs and proto/ from the bundle's own files (src/util/rpc-deps.ts). */
  bundledRpc?: BundledRpc;
}

export async function main(argv: string[], opts: MainOptions = {}): Promise<number> {
  setDeferredCaFile(opts.deferredCaCerts);
  if (opts.bundledRpc) setBundledRpc(opts.bundledRpc);
  const program = makeProgram(argv);
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
