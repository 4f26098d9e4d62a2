/**
 * Docker image reference normalisation, as Go's `reference.ParseNormalizedNamed` + `TagNameOnly`
 * do it for `llb.Image`: `alpine` → `docker.io/library/alpine:latest`, `index.docker.io/x/y` →
 * `docker.io/x/y:latest`, `localhost:5000/x` keeps its registry, digests are kept
 * (`name[:tag]@sha256:…`). The daemon parses the identifier strictly, so we always send the full form.
 */
import { StapelkitError } from '../errors';

const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';

const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[(?:[a-fA-F0-9:]+)\\])(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE_RE = new RegExp(`^((?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const HEX64_RE = /^[a-f0-9]{64}$/;
const NAME_TOTAL_LENGTH_MAX = 255;

export interface ImageReference {
  /** Registry host, e.g. `docker.io`, `localhost:5000`. */
  domain: string;
  /** Repository path inside the registry, e.g. `library/alpine`. */
  path: string;
  tag?: string;
  digest?: string;
}

function invalid(ref: string, why: string): StapelkitError {
  return new StapelkitError('LLB_INVALID_IMAGE_REF', `invalid image reference "${ref}": ${why}`);
}

/** Parse and normalise; adds `latest` when the reference has neither tag nor digest. */
export function parseImageReference(ref: string): ImageReference {
  if (ref === '') throw invalid(ref, 'empty');
  if (HEX64_RE.test(ref)) throw invalid(ref, 'cannot specify 64-byte hexadecimal strings (that is an image ID, not a name)');

  const slash = ref.indexOf('/');
  let domain: string;
  let remainder: string;
  const first = slash === -1 ? '' : ref.slice(0, slash);
  if (slash === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    remainder = ref;
  } else {
    domain = first;
    remainder = ref.slice(slash + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;

  // Only the repository part must be lower case; a tag or digest may contain upper case.
  const namePart = remainder.split('@')[0].replace(/:[\w][\w.-]*$/, '');
  if (namePart.toLowerCase() !== namePart) throw invalid(ref, 'repository name must be lowercase');

  const m = REFERENCE_RE.exec(`${domain}/${remainder}`);
  if (!m) throw invalid(ref, 'does not match the reference grammar (registry/path[:tag][@digest])');
  if (m[1].length > NAME_TOTAL_LENGTH_MAX) throw invalid(ref, `repository name longer than ${NAME_TOTAL_LENGTH_MAX} characters`);
  const path = m[1].slice(domain.length + 1);
  const out: ImageReference = { domain, path };
  if (m[2] !== undefined) out.tag = m[2];
  if (m[3] !== undefined) out.digest = m[3];
  if (out.tag === undefined && out.digest === undefined) out.tag = 'latest';
  return out;
}

export function formatImageReference(r: ImageReference): string {
  let s = `${r.domain}/${r.path}`;
  if (r.tag !== undefined) s += `:${r.tag}`;
  if (r.digest !== undefined) s += `@${r.digest}`;
  return s;
}

/** `alpine` → `docker.io/library/alpine:latest`. */
export function normalizeImageRef(ref: string): string {
  return formatImageReference(parseImageReference(ref));
}
