/**
 * Cache import/export and directory exports that need a content store on the client side, as
 * BuildKit's own client prepares them (client/solve.go parseCacheOptions): `type=local` cache
 * imports resolve their digest from `<src>/index.json` (tag `latest` or `tag=`) and are skipped with
 * a warning when there is nothing to import; `type=local` exports get a store `local:<dest>`; the
 * oci/docker exporters with tar=false write into a store named `export`. After the solve,
 * `index.json` of those stores gets the exported manifest. Also the buildx `--cache-from/--cache-to`
 * syntax (`type=local,src=dir`, or a bare reference meaning `type=registry,ref=…`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StapelkitError } from '../errors';

export interface CacheEntry {
  type: string;
  attrs?: Record<string, string>;
}

export interface ExportSpecLike {
  type: string;
  attrs?: Record<string, string>;
  /** Where the oci/docker exporters with tar=false put their OCI layout. */
  outputDir?: string;
}

export interface PreparedStores {
  cacheImports: CacheEntry[];
  cacheExports: CacheEntry[];
  /** Session content stores to serve: id (`local:<dir>`, `export`) → directory. */
  stores: { id: string; dir: string }[];
  /** Imports skipped because there is nothing to import yet (as BuildKit warns). */
  warnings: string[];
  /** After a successful solve: record the exported manifests in the stores' index.json. */
  finish(exporterResponse: Record<string, string>): void;
}

const REF_NAME = 'org.opencontainers.image.ref.name';
const IMAGE_NAME = 'io.containerd.image.name';

interface OciDescriptor { mediaType: string; digest: string; size: number; annotations?: Record<string, string>; [k: string]: unknown }
interface OciIndex { schemaVersion: number; mediaType?: string; manifests: OciDescriptor[] }

function readIndex(dir: string): OciIndex | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as OciIndex;
  } catch {
    return undefined;
  }
}

/** Adds `desc` to `<dir>/index.json` under each tag/name, replacing entries of the same name. */
export function putIndexEntry(dir: string, desc: OciDescriptor, names: { tag?: string; name?: string }[]): void {
  const index: OciIndex = readIndex(dir) ?? { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] };
  for (const n of names) {
    const annotations = { ...(desc.annotations ?? {}) };
    if (n.name) annotations[IMAGE_NAME] = n.name;
    const tag = n.tag ?? (n.name ? (/:([\w][\w.-]{0,127})$/.exec(n.name.replace(/@.*$/, ''))?.[1] ?? 'latest') : 'latest');
    annotations[REF_NAME] = tag;
    index.manifests = index.manifests.filter((m) => (n.name ? m.annotations?.[IMAGE_NAME] !== n.name : m.annotations?.[REF_NAME] !== tag || m.annotations?.[IMAGE_NAME] !== undefined));
    index.manifests.push({ ...desc, annotations });
  }
  fs.mkdirSync(dir, { recursive: true });
  const layout = path.join(dir, 'oci-layout');
  if (!fs.existsSync(layout)) fs.writeFileSync(layout, JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const tmp = path.join(dir, `.index.json.${process.pid}`);
  fs.writeFileSync(tmp, JSON.stringify(index));
  fs.renameSync(tmp, path.join(dir, 'index.json'));
}

/** The digest `<dir>/index.json` holds for `tag`. */
export function indexDigest(dir: string, tag: string): string | undefined {
  return readIndex(dir)?.manifests.find((m) => m.annotations?.[REF_NAME] === tag && m.annotations?.[IMAGE_NAME] === undefined)?.digest
    ?? readIndex(dir)?.manifests.find((m) => m.annotations?.[REF_NAME] === tag)?.digest;
}

function blobExists(dir: string, digest: string): boolean {
  const m = /^(\w+):([a-f0-9]+)$/.exec(digest);
  return !!m && fs.existsSync(path.join(dir, 'blobs', m[1], m[2]));
}

export function prepareSessionStores(opts: { cacheImports?: CacheEntry[]; cacheExports?: CacheEntry[]; exporter?: ExportSpecLike }): PreparedStores {
  const stores = new Map<string, string>();
  const warnings: string[] = [];
  const toUpdate: { dir: string; tag: string }[] = [];
  const cacheExports: CacheEntry[] = [];
  for (const e of opts.cacheExports ?? []) {
    const attrs = { ...(e.attrs ?? {}) };
    if (e.type === 'local') {
      const dest = attrs.dest;
      if (!dest) throw new StapelkitError('CACHE_OPTION', 'a local cache export needs dest=<dir>', { hint: '--cache-to type=local,dest=DIR' });
      fs.mkdirSync(dest, { recursive: true });
      stores.set(`local:${dest}`, path.resolve(dest));
      toUpdate.push({ dir: path.resolve(dest), tag: attrs.tag ?? 'latest' });
    }
    if (e.type === 'registry' && !attrs.ref) throw new StapelkitError('CACHE_OPTION', 'a registry cache export needs ref=<image>', { hint: '--cache-to type=registry,ref=REPO:TAG' });
    cacheExports.push({ type: e.type, attrs });
  }
  const cacheImports: CacheEntry[] = [];
  for (const e of opts.cacheImports ?? []) {
    const attrs = { ...(e.attrs ?? {}) };
    if (e.type === 'local') {
      const src = attrs.src;
      if (!src) throw new StapelkitError('CACHE_OPTION', 'a local cache import needs src=<dir>', { hint: '--cache-from type=local,src=DIR' });
      const dir = path.resolve(src);
      if (!attrs.digest) {
        const tag = attrs.tag ?? 'latest';
        const d = fs.existsSync(dir) ? indexDigest(dir, tag) : undefined;
        if (!d) {
          warnings.push(`local cache import at ${src} skipped: ${fs.existsSync(dir) ? `no manifest tagged "${tag}" in its index.json` : 'the directory does not exist'}`);
          continue;
        }
        attrs.digest = d;
      }
      if (!blobExists(dir, attrs.digest)) {
        warnings.push(`local cache import at ${src} skipped: digest ${attrs.digest} unavailable`);
        continue;
      }
      stores.set(`local:${src}`, dir);
    }
    if (e.type === 'registry' && !attrs.ref) throw new StapelkitError('CACHE_OPTION', 'a registry cache import needs ref=<image>', { hint: '--cache-from type=registry,ref=REPO:TAG' });
    cacheImports.push({ type: e.type, attrs });
  }
  let exportDir: string | undefined;
  const ex = opts.exporter;
  if (ex && (ex.type === 'oci' || ex.type === 'docker') && ex.attrs?.tar === 'false') {
    if (!ex.outputDir) throw new StapelkitError('EXPORTER_OPTION', `the ${ex.type} exporter with tar=false writes an OCI layout: give it an output directory`, { hint: `--output type=${ex.type},dest=DIR,tar=false` });
    exportDir = path.resolve(ex.outputDir);
    fs.mkdirSync(exportDir, { recursive: true });
    stores.set('export', exportDir);
  }
  return {
    cacheImports,
    cacheExports,
    stores: [...stores].map(([id, dir]) => ({ id, dir })),
    warnings,
    finish(res) {
      const cacheManifest = res['cache.manifest'];
      if (cacheManifest) {
        const desc = JSON.parse(cacheManifest) as OciDescriptor;
        for (const u of toUpdate) putIndexEntry(u.dir, desc, [{ tag: u.tag }]);
      }
      const imageDesc = res['containerimage.descriptor'];
      if (imageDesc && exportDir) {
        const desc = JSON.parse(Buffer.from(imageDesc, 'base64').toString('utf8')) as OciDescriptor;
        const names = res['image.name'] ? res['image.name'].split(',').map((name) => ({ name })) : [{ tag: 'latest' }];
        putIndexEntry(exportDir, desc, names);
      }
    },
  };
}

/** buildx's CSV: `k=v,k2="v,2"`. */
function splitCsv(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '"') {
      if (quoted && s[i + 1] === '"') {
        cur += '"';
        i++;
      } else quoted = !quoted;
    } else if (c === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (quoted) throw new StapelkitError('CACHE_OPTION', `unterminated quote in "${s}"`);
  out.push(cur);
  return out;
}

/**
 * One `--cache-from`/`--cache-to` value in buildx syntax: `type=local,src=DIR`, `type=registry,ref=R`,
 * `type=inline`; a value without `=` is a registry reference (`--cache-from user/app:cache`).
 */
export function parseCacheSpec(flag: '--cache-from' | '--cache-to', value: string): CacheEntry {
  const v = value.trim();
  if (!v) throw new StapelkitError('CACHE_OPTION', `${flag} needs a value`, { hint: `${flag} type=local,${flag === '--cache-from' ? 'src' : 'dest'}=DIR` });
  if (!v.includes('=')) return { type: 'registry', attrs: { ref: v } };
  const attrs: Record<string, string> = {};
  let type = '';
  for (const field of splitCsv(v)) {
    const eq = field.indexOf('=');
    if (eq <= 0) throw new StapelkitError('CACHE_OPTION', `${flag} ${value}: "${field}" is not key=value`);
    const k = field.slice(0, eq).trim().toLowerCase();
    const val = field.slice(eq + 1);
    if (k === 'type') type = val;
    else attrs[k] = val;
  }
  if (!type) throw new StapelkitError('CACHE_OPTION', `${flag} ${value}: no type= (registry, local, inline, …)`);
  const known = flag === '--cache-from' ? ['registry', 'local', 'gha', 's3', 'azblob'] : ['registry', 'local', 'inline', 'gha', 's3', 'azblob'];
  if (!known.includes(type)) throw new StapelkitError('CACHE_OPTION', `${flag} ${value}: unknown cache type "${type}"`, { hint: `one of ${known.join(', ')}` });
  if (type === 'local' && flag === '--cache-from' && !attrs.src) throw new StapelkitError('CACHE_OPTION', `${flag} ${value}: a local cache import needs src=DIR`);
  if (type === 'local' && flag === '--cache-to' && !attrs.dest) throw new StapelkitError('CACHE_OPTION', `${flag} ${value}: a local cache export needs dest=DIR`);
  if (type === 'registry' && !attrs.ref) throw new StapelkitError('CACHE_OPTION', `${flag} ${value}: a registry cache needs ref=IMAGE`);
  return { type, attrs };
}
