/**
 * Typed instructions (BuildKit instructions/parse.go): every AST node becomes one command with its
 * flags checked against what that instruction accepts, its arguments in the instruction's shape
 * (still unexpanded: variables are expanded at dispatch, where the env is known), and its node for
 * positions. Stages are grouped at FROM; ARGs before the first FROM are the meta args.
 */
import { StapelkitError } from '../../errors';
import { ArgError, parseMaybeJSON, parseMaybeJSONToList, parseNameOrNameVal, parseNameVal, parseWords, splitWhitespace, type CommandLine, type KeyValue } from '../parser/args';
import { FlagError, Flags, type FlagKind } from '../parser/flags';
import { parse, parseError, type Heredoc, type Node, type ParseResult, type Pos } from '../parser/parser';

interface Base {
  node: Node;
  flags: Flags;
}

export interface FromCmd extends Base {
  kind: 'from';
  image: string;
  stageName?: string;
  platform?: string;
}
export interface RunCmd extends Base {
  kind: 'run';
  cmd: CommandLine;
  heredocs: Heredoc[];
  mounts: string[];
  network?: string;
  security?: string;
}
export interface CmdCmd extends Base {
  kind: 'cmd' | 'entrypoint';
  cmd: CommandLine;
}
export interface ShellCmd extends Base {
  kind: 'shell';
  shell: string[];
}
export interface CopyCmd extends Base {
  kind: 'copy' | 'add';
  sources: string[];
  dest: string;
  heredocs: Heredoc[];
  json: boolean;
  from?: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  checksum?: string;
}
export interface EnvCmd extends Base {
  kind: 'env' | 'label';
  pairs: KeyValue[];
}
export interface ArgCmd extends Base {
  kind: 'arg';
  args: { key: string; value?: string }[];
}
export interface StringCmd extends Base {
  kind: 'workdir' | 'user' | 'stopsignal' | 'maintainer';
  value: string;
}
export interface ListCmd extends Base {
  kind: 'expose' | 'volume';
  values: string[];
}
export interface HealthcheckCmd extends Base {
  kind: 'healthcheck';
  /** undefined for NONE. */
  test?: string[];
  none: boolean;
  interval?: string;
  timeout?: string;
  startPeriod?: string;
  startInterval?: string;
  retries?: string;
}
export interface OnbuildCmd extends Base {
  kind: 'onbuild';
  expression: string;
}

export type Instruction = FromCmd | RunCmd | CmdCmd | ShellCmd | CopyCmd | EnvCmd | ArgCmd | StringCmd | ListCmd | HealthcheckCmd | OnbuildCmd;

export interface Stage {
  index: number;
  /** Lower-cased `AS` name. */
  name?: string;
  from: FromCmd;
  commands: Instruction[];
}

export interface Dockerfile {
  file: string;
  /** The Dockerfile's text (for source maps). */
  text: string;
  metaArgs: ArgCmd[];
  stages: Stage[];
  parsed: ParseResult;
}

const FLAGS: Record<string, Record<string, FlagKind>> = {
  from: { platform: 'string' },
  run: { mount: 'list', network: 'string', security: 'string' },
  copy: { from: 'string', chown: 'string', chmod: 'string', link: 'bool' },
  add: { chown: 'string', chmod: 'string', link: 'bool', checksum: 'string' },
  healthcheck: { interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' },
};

const STAGE_NAME_RE = /^[a-z][a-z0-9-_.]*$/;

export function instructionError(file: string, node: Node, message: string, pos?: Pos, hint?: string): StapelkitError {
  return parseError(file, pos ?? node.range.start, message, node.original.trim(), hint);
}

function requireJSON(file: string, node: Node, what: string): string[] {
  const c = parseMaybeJSON(node.rest);
  if (!c.json) throw instructionError(file, node, `${what} requires the arguments to be in JSON form`);
  return c.args;
}

/** One AST node → one instruction. */
export function parseInstruction(node: Node, file: string, escape: string): Instruction {
  const spec = FLAGS[node.cmd] ?? {};
  let flags: Flags;
  try {
    flags = new Flags(node.flags, spec, node.name.toUpperCase());
  } catch (e) {
    if (e instanceof FlagError) throw instructionError(file, node, e.message, e.pos);
    throw e;
  }
  const base = { node, flags };
  try {
    switch (node.cmd) {
      case 'from': {
        const words = splitWhitespace(node.rest);
        if (words.length !== 1 && !(words.length === 3 && words[1].toLowerCase() === 'as')) throw new ArgError('FROM requires either one or three arguments');
        const stageName = words.length === 3 ? words[2].toLowerCase() : undefined;
        if (stageName !== undefined && !STAGE_NAME_RE.test(stageName)) throw new ArgError(`invalid name for build stage: "${words[2]}", name can't start with a number or contain symbols`);
        return { ...base, kind: 'from', image: words[0], stageName, platform: flags.string('platform') };
      }
      case 'run': {
        const cmd = parseMaybeJSON(node.rest);
        if (cmd.json ? cmd.args.length === 0 : cmd.shell === '') throw new ArgError('RUN requires at least one argument');
        return { ...base, kind: 'run', cmd, heredocs: node.heredocs, mounts: flags.list('mount'), network: flags.string('network'), security: flags.string('security') };
      }
      case 'cmd':
      case 'entrypoint': {
        const cmd = parseMaybeJSON(node.rest);
        return { ...base, kind: node.cmd, cmd };
      }
      case 'shell': {
        const shell = requireJSON(file, node, 'SHELL');
        if (shell.length === 0) throw new ArgError('SHELL requires at least one argument');
        return { ...base, kind: 'shell', shell };
      }
      case 'copy':
      case 'add': {
        const { json, list } = parseMaybeJSONToList(node.rest);
        if (list.length < 2) {
          if (list.length === 1 && node.heredocs.length === 0) throw new ArgError(`${node.cmd.toUpperCase()} requires at least two arguments, but only one was provided. Destination could not be determined.`);
          if (list.length === 0) throw new ArgError(`${node.cmd.toUpperCase()} requires at least two arguments`);
        }
        if (node.cmd === 'add' && flags.string('checksum') !== undefined && list.slice(0, -1).some((s) => !/^https?:\/\//.test(s))) throw new ArgError('checksum can\'t be specified for non-HTTP(S) sources');
        return {
          ...base,
          kind: node.cmd,
          sources: list.slice(0, -1),
          dest: list[list.length - 1],
          heredocs: node.heredocs,
          json,
          from: node.cmd === 'copy' ? flags.string('from') : undefined,
          chown: flags.string('chown'),
          chmod: flags.string('chmod'),
          link: flags.bool('link'),
          checksum: flags.string('checksum'),
        };
      }
      case 'env':
        return { ...base, kind: 'env', pairs: parseNameVal(node.rest, 'ENV', escape) };
      case 'label':
        return { ...base, kind: 'label', pairs: parseNameVal(node.rest, 'LABEL', escape) };
      case 'arg':
        return { ...base, kind: 'arg', args: parseNameOrNameVal(node.rest, escape) };
      case 'workdir':
      case 'user':
      case 'stopsignal':
      case 'maintainer': {
        if (node.rest === '') throw new ArgError(`${node.cmd.toUpperCase()} requires exactly one argument`);
        if (node.cmd === 'workdir' || node.cmd === 'user' || node.cmd === 'stopsignal') {
          // parseString keeps the text; exactly one word is required for these (quotes count as one)
          if (parseWords(node.rest, escape).length !== 1 && node.cmd !== 'workdir') throw new ArgError(`${node.cmd.toUpperCase()} requires exactly one argument`);
        }
        return { ...base, kind: node.cmd, value: node.rest };
      }
      case 'expose': {
        const values = splitWhitespace(node.rest);
        if (values.length === 0) throw new ArgError('EXPOSE requires at least one argument');
        return { ...base, kind: 'expose', values };
      }
      case 'volume': {
        const { list } = parseMaybeJSONToList(node.rest);
        if (list.length === 0) throw new ArgError('VOLUME requires at least one argument');
        return { ...base, kind: 'volume', values: list };
      }
      case 'healthcheck': {
        const m = /^(\S+)\s*([\s\S]*)$/.exec(node.rest);
        if (!m) throw new ArgError('HEALTHCHECK requires an argument');
        const typ = m[1].toUpperCase();
        if (typ === 'NONE') {
          if (m[2] !== '') throw new ArgError('HEALTHCHECK NONE takes no arguments');
          if (flags.all().length) throw new ArgError('HEALTHCHECK NONE takes no flags');
          return { ...base, kind: 'healthcheck', none: true };
        }
        if (typ !== 'CMD') throw new ArgError(`Unknown type "${typ}" in HEALTHCHECK (try CMD)`);
        const c = parseMaybeJSON(m[2]);
        const test = c.json ? ['CMD', ...c.args] : ['CMD-SHELL', c.shell];
        if ((c.json && c.args.length === 0) || (!c.json && c.shell === '')) throw new ArgError('Missing command after HEALTHCHECK CMD');
        return {
          ...base,
          kind: 'healthcheck',
          none: false,
          test,
          interval: flags.string('interval'),
          timeout: flags.string('timeout'),
          startPeriod: flags.string('start-period'),
          startInterval: flags.string('start-interval'),
          retries: flags.string('retries'),
        };
      }
      case 'onbuild': {
        const trigger = (/^\S+/.exec(node.rest)?.[0] ?? '').toUpperCase();
        if (trigger === '') throw new ArgError('ONBUILD requires at least one argument');
        if (trigger === 'ONBUILD') throw new ArgError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
        if (trigger === 'FROM' || trigger === 'MAINTAINER') throw new ArgError(`${trigger} isn't allowed as an ONBUILD trigger`);
        const expression = node.original.replace(/^\s*ONBUILD\s*/i, '');
        // the trigger must itself be a valid instruction
        const sub = parse(expression + '\n', { file }).nodes[0];
        if (sub) parseInstruction({ ...sub, range: node.range, posAt: node.posAt }, file, escape);
        return { ...base, kind: 'onbuild', expression };
      }
      default:
        throw instructionError(file, node, `unknown instruction: ${node.name.toUpperCase()}`, node.range.start, 'instructions: ADD ARG CMD COPY ENTRYPOINT ENV EXPOSE FROM HEALTHCHECK LABEL MAINTAINER ONBUILD RUN SHELL STOPSIGNAL USER VOLUME WORKDIR');
    }
  } catch (e) {
    if (e instanceof ArgError) throw instructionError(file, node, e.message, node.restPos);
    throw e;
  }
}

/** Parse a whole Dockerfile into meta args and stages. */
export function parseDockerfile(text: string, file = 'Dockerfile'): Dockerfile {
  const parsed = parse(text, { file });
  const metaArgs: ArgCmd[] = [];
  const stages: Stage[] = [];
  const names = new Map<string, number>();
  for (const node of parsed.nodes) {
    const ins = parseInstruction(node, file, parsed.escapeToken);
    if (ins.kind === 'from') {
      if (ins.stageName) {
        if (names.has(ins.stageName)) throw instructionError(file, node, `duplicate stage name "${ins.stageName}"`);
        names.set(ins.stageName, stages.length);
      }
      stages.push({ index: stages.length, name: ins.stageName, from: ins, commands: [] });
      continue;
    }
    if (stages.length === 0) {
      if (ins.kind === 'arg') {
        metaArgs.push(ins);
        continue;
      }
      throw instructionError(file, node, `no build stage in current context: ${node.name.toUpperCase()} before the first FROM`);
    }
    stages[stages.length - 1].commands.push(ins);
  }
  if (stages.length === 0) throw parseError(file, { line: parsed.nodes.length ? parsed.nodes[parsed.nodes.length - 1].range.end.line : 1, column: 1 }, 'the Dockerfile has no FROM (no build stage)');
  return { file, text, metaArgs, stages, parsed };
}
