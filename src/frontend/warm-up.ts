/**
 * One offline frontend run, for the V8 code cache of the frontend bundle: V8 caches the functions
 * that have been compiled when the cache is taken, and a function compiles on its first call. So
 * `bin/stapelkit-frontend --write-code-cache` (at image build time, never at run time) calls this
 * before taking the cache: the protocol messages of every LLBBridge call each way, then a whole
 * werf.yaml build through runFrontend against an in-memory gateway (options, template, YAML, the
 * config model, the shared core, LLB marshalling) — what a real start runs, minus the pipe.
 */
import type { Gateway, GatewayCaps, GatewayRef, GatewayStat, ResolvedImage } from '../build/gateway';
import { StapelkitError } from '../errors';
import { BUILDKIT_V08_LLB_CAPS, decodeDefinition, type Definition } from '../llb';
import { decodeMessage, encodeMessage, messageType } from '../proto';
import { frontendEnv } from './stdio-gateway';

const PKG = 'moby.buildkit.v1.frontend';

/** Sample messages of the calls BridgeGateway makes (requests and answers alike get both directions). */
const MESSAGES: [string, Record<string, unknown>][] = [
  ['PingRequest', {}],
  ['PongResponse', { FrontendAPICaps: [{ ID: 'readfile', Enabled: true }], LLBCaps: [{ ID: 'source.local', Enabled: true }], Workers: [{ ID: 'w', Labels: { 'org.mobyproject.buildkit.worker.moby.hostname': 'h' }, platforms: [{ OS: 'linux', Architecture: 'amd64' }] }] }],
  ['InputsRequest', {}],
  ['InputsResponse', { Definitions: { context: { def: [Buffer.from([1])] } } }],
  ['SolveRequest', { allowResultReturn: true, allowResultArrayRef: true, Evaluate: true, CacheImports: [{ Type: 'registry', Attrs: { ref: 'r' } }] }],
  ['SolveResponse', { result: { ref: { id: 'r1' } } }],
  ['ReadFileRequest', { Ref: 'r1', FilePath: 'werf.yaml', Range: { Offset: 0, Length: 1 } }],
  ['ReadFileResponse', { Data: Buffer.from('x') }],
  ['ReadDirRequest', { Ref: 'r1', DirPath: '/', IncludePattern: '*' }],
  ['ReadDirResponse', { entries: [{ path: 'a', mode: 420, size: 1, modTime: 1 }] }],
  ['StatFileRequest', { Ref: 'r1', Path: 'a' }],
  ['StatFileResponse', { stat: { path: 'a', mode: 420 } }],
  ['ResolveImageConfigRequest', { Ref: 'docker.io/library/busybox:latest', Platform: { OS: 'linux', Architecture: 'amd64' }, LogName: 'x' }],
  ['ResolveImageConfigResponse', { Digest: 'sha256:00', Config: Buffer.from('{}') }],
  ['ReturnRequest', { Result: { ref: { id: 'r1' }, metadata: { 'containerimage.config': Buffer.from('{}') } } }],
  ['ReturnResponse', {}],
];

const WERF = `project: warm-up
configVersion: 1
---
image: app
from: busybox
git:
- add: /src
  to: /app
shell:
  beforeInstall: echo {{ env "GREETING" "hello" | upper }}
  install: [echo a, echo b]
imageSpec:
  config:
    workingDir: /app
    env: { A: "1" }
`;

const MODE_DIR = 0x80000000;

/** The `dockerfile` and `context` locals in memory; images resolve to an empty config. */
class WarmUpGateway implements Gateway {
  private readonly dirs: Record<string, Record<string, string>> = { dockerfile: { 'werf.yaml': WERF }, context: { 'werf.yaml': WERF, 'src/a.txt': 'a' } };

  async caps(): Promise<GatewayCaps> {
    return { llb: new Set(BUILDKIT_V08_LLB_CAPS), frontend: new Set(['readfile', 'readdir', 'statfile']), platforms: [{ os: 'linux', architecture: 'amd64' }], daemon: 'dockerd' };
  }

  async resolveImageConfig(ref: string): Promise<ResolvedImage> {
    return { ref: `docker.io/library/${ref}:latest`, digest: '', config: { architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] } } };
  }

  async solve(def: Definition): Promise<GatewayRef> {
    const ops = decodeDefinition(Buffer.from(def.toBytes())).ops;
    return { id: ops.find((o) => o.op.source)?.op.source.identifier ?? '' };
  }

  private files(ref: GatewayRef): Record<string, string> {
    return this.dirs[ref.id.replace(/^local:\/\//, '')] ?? {};
  }

  async readFile(ref: GatewayRef, p: string): Promise<Buffer> {
    const f = this.files(ref)[p];
    if (f === undefined) throw new StapelkitError('FILE_NOT_FOUND', `read ${p}: no such file or directory`);
    return Buffer.from(f);
  }

  async readDir(ref: GatewayRef, dir: string): Promise<GatewayStat[]> {
    const prefix = dir === '/' || dir === '' ? '' : `${dir.replace(/\/$/, '')}/`;
    const names = new Map<string, boolean>();
    for (const p of Object.keys(this.files(ref))) {
      if (!p.startsWith(prefix)) continue;
      const [first, ...more] = p.slice(prefix.length).split('/');
      names.set(first, more.length > 0 || !!names.get(first));
    }
    return [...names].map(([name, isDir]) => ({ path: name, mode: isDir ? MODE_DIR | 0o755 : 0o644, uid: 0, gid: 0, size: 1, modTime: 0 }));
  }

  async stat(ref: GatewayRef, p: string): Promise<GatewayStat> {
    if (this.files(ref)[p] === undefined) throw new StapelkitError('FILE_NOT_FOUND', `stat ${p}: no such file or directory`);
    return { path: p, mode: 0o644, uid: 0, gid: 0, size: 1, modTime: 0 };
  }

  async finish(): Promise<void> {}
}

/** Runs the code paths of a frontend start once; throws if the build did not come through. */
export async function warmUp(): Promise<void> {
  for (const [name, sample] of MESSAGES) {
    const type = messageType(`${PKG}.${name}`);
    decodeMessage(type, encodeMessage(type, sample));
  }
  decodeMessage(messageType('google.rpc.Status'), encodeMessage(messageType('google.rpc.Status'), { code: 2, message: 'x' }));
  const env = frontendEnv({
    BUILDKIT_SESSION_ID: 'warm-up',
    BUILDKIT_FRONTEND_OPT_0: 'filename=werf.yaml',
    BUILDKIT_FRONTEND_OPT_1: 'build-arg:GREETING=hi',
    BUILDKIT_WORKERS: '[{"ID":"w","Platforms":[{"os":"linux","architecture":"amd64"}]}]',
  });
  // main.ts is this module's importer: required here, not imported, to keep the graph acyclic.
  const { runFrontend } = require('./main') as typeof import('./main');
  const result = await runFrontend(new WarmUpGateway(), { ...env, opts: { ...env.opts, 'loose-giterminism': 'true' } });
  if (!result.refs) throw new Error('warm-up build returned no result');
}
