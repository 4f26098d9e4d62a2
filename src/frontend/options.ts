/**
 * Frontend options as BuildKit passes them (BUILDKIT_FRONTEND_OPT_*), with the Dockerfile
 * frontend's names where werf has the same idea (docs §6.3), plus Stapelkit's own:
 *
 *   filename          werf.yaml inside the `dockerfile` local (default werf.yaml)
 *   target, image     image name(s) to build (`image=` may list several, comma-separated)
 *   build-arg:NAME    the template environment ({{ env "NAME" }}); WERF_ENV sets .Env
 *   label:NAME        a label on the result image
 *   platform          comma list; several give a per-platform result
 *   no-cache          "" = everything; else a comma list of image names
 *   cache-imports     JSON [{Type, Attrs}]; cache-from: legacy comma list of registry refs
 *   contextkey, dockerfilekey   names of the two locals (default `context`, `dockerfile`)
 *   image-resolve-mode          default | pull | local
 *   dev               `true`: werf's --dev (no effect on what is read: the context is the snapshot)
 *   loose-giterminism `true`: werf's --loose-giterminism
 *   env               the werf environment (.Env), overriding build-arg:WERF_ENV
 *   ssh               `true`: Stapel user stages get the client's default ssh agent (what
 *                     `stapelkit build` does when SSH_AUTH_SOCK is set); give `docker build --ssh default`.
 *                     `docker build` passes no options of its own: there, `--build-arg STAPELKIT_SSH=1`
 *                     (as the Dockerfile frontend reads its BUILDKIT_* build args as options)
 */
import { StapelkitError } from '../errors';
import { parsePlatform, type Platform } from '../llb/platform';

export interface FrontendOptions {
  filename: string;
  images: string[];
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  platforms: Platform[];
  /** undefined: use the cache; true: no cache at all; a list: these images only. */
  noCache?: true | string[];
  cacheImports: { Type: string; Attrs?: Record<string, string> }[];
  contextKey: string;
  dockerfileKey: string;
  resolveMode: 'default' | 'pull' | 'local';
  dev: boolean;
  looseGiterminism: boolean;
  env: string;
  /** Stapel user stages mount the client's default ssh agent (`docker build --ssh default`). */
  ssh: boolean;
  /** Options we do not know (kept for the build core; never an error: BuildKit adds its own). */
  rest: Record<string, string>;
}

function optError(key: string, msg: string): StapelkitError {
  return new StapelkitError('FRONTEND_OPT', `frontend option "${key}": ${msg}`);
}

function bool(key: string, v: string): boolean {
  if (v === '' || /^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw optError(key, `expected true or false, got ${JSON.stringify(v)}`);
}

const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);

/** Keys BuildKit or the forwarding Dockerfile frontend set that mean nothing to us. */
const IGNORED = new Set(['source', 'cmdline', 'frontend.caps', 'multi-platform', 'add-hosts', 'force-network-mode', 'hostname', 'contextsubdir', 'attest:sbom', 'attest:provenance']);

export function parseFrontendOptions(opts: Record<string, string>): FrontendOptions {
  const out: FrontendOptions = {
    filename: 'werf.yaml',
    images: [],
    buildArgs: {},
    labels: {},
    platforms: [],
    cacheImports: [],
    contextKey: 'context',
    dockerfileKey: 'dockerfile',
    resolveMode: 'default',
    dev: false,
    looseGiterminism: false,
    ssh: false,
    env: '',
    rest: {},
  };
  let target: string | undefined;
  for (const key of Object.keys(opts).sort()) {
    const v = opts[key];
    if (key.startsWith('build-arg:')) out.buildArgs[key.slice('build-arg:'.length)] = v;
    else if (key.startsWith('label:')) out.labels[key.slice('label:'.length)] = v;
    else
      switch (key) {
        case 'filename':
          if (v) out.filename = v;
          break;
        case 'target':
          if (v) target = v;
          break;
        case 'image':
          out.images.push(...list(v));
          break;
        case 'platform':
          try {
            out.platforms = list(v).map((p) => parsePlatform(p));
          } catch (e) {
            throw optError(key, (e as Error).message);
          }
          break;
        case 'no-cache':
          out.noCache = v.trim() === '' ? true : list(v);
          break;
        case 'cache-imports':
          if (v.trim() === '') break;
          try {
            const parsed = JSON.parse(v) as { Type?: string; Attrs?: Record<string, string> }[];
            if (!Array.isArray(parsed)) throw new Error('not a list');
            for (const c of parsed) {
              if (!c?.Type) throw new Error('an entry has no Type');
              out.cacheImports.push({ Type: c.Type, ...(c.Attrs ? { Attrs: c.Attrs } : {}) });
            }
          } catch (e) {
            throw optError(key, `expected JSON [{"Type":…,"Attrs":{…}}]: ${(e as Error).message}`);
          }
          break;
        case 'cache-from':
          for (const ref of list(v)) out.cacheImports.push({ Type: 'registry', Attrs: { ref } });
          break;
        case 'contextkey':
          if (v) out.contextKey = v;
          break;
        case 'dockerfilekey':
          if (v) out.dockerfileKey = v;
          break;
        case 'image-resolve-mode':
          if (v !== 'default' && v !== 'pull' && v !== 'local' && v !== '') throw optError(key, `expected default, pull or local, got ${JSON.stringify(v)}`);
          if (v) out.resolveMode = v;
          break;
        case 'dev':
          out.dev = bool(key, v);
          break;
        case 'loose-giterminism':
          out.looseGiterminism = bool(key, v);
          break;
        case 'ssh':
          out.ssh = bool(key, v);
          break;
        case 'env':
          out.env = v;
          break;
        case 'context':
          // A remote context (git/http URL) replaces the local one in the Dockerfile frontend; not here (yet).
          if (v && !/^(local:)?context$/.test(v)) throw optError(key, 'remote contexts are not supported; send the context as the `context` local');
          break;
        default:
          if (!IGNORED.has(key)) out.rest[key] = v;
      }
  }
  if (target) {
    if (out.images.length && !out.images.includes(target)) throw optError('target', `conflicts with image=${out.images.join(',')}`);
    if (!out.images.length) out.images.push(target);
  }
  if (!out.env && out.buildArgs.WERF_ENV) out.env = out.buildArgs.WERF_ENV;
  if (opts.ssh === undefined && out.buildArgs.STAPELKIT_SSH !== undefined) out.ssh = bool('build-arg:STAPELKIT_SSH', out.buildArgs.STAPELKIT_SSH);
  return out;
}
