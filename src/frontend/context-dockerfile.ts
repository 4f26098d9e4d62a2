/**
 * A Dockerfile image's context inside the frontend: the files under `context:` of the build
 * context (the `context` local), read over the gateway for the stage digest's ADD/COPY checksums
 * (git blob ids, as `stapelkit build` takes them from HEAD), the Dockerfile and .dockerignore read
 * from it, and the LLB that the compiler copies from: the same local, its excludes rebased onto
 * the `context:` directory.
 */
import type { Gateway, GatewayRef } from '../build/gateway';
import { dockerignoreCandidates, type ContextFile, type DockerfileContextFacts } from '../build/dockerfile-image';
import { imageLabel, type DockerfileImage } from '../config/model';
import { StapelkitError } from '../errors';
import { copy, scratch, type State } from '../llb';
import { readContextSnapshot } from './context-git';

/** A `.dockerignore` pattern of the `context:` directory as a pattern of the whole build context. */
export function rebasePattern(dir: string, pattern: string): string {
  if (dir === '') return pattern;
  const neg = pattern.startsWith('!');
  const p = (neg ? pattern.slice(1) : pattern).replace(/^\/+/, '');
  return `${neg ? '!' : ''}${dir}/${p}`;
}

/**
 * The facts of `img`'s context. `contextLocal` makes the build context's local source with the
 * given patterns (a fresh source op each time: the excludes are part of it).
 */
export async function frontendDockerfileFacts(
  gw: Gateway,
  ref: GatewayRef,
  img: DockerfileImage,
  contextLocal: (o: { includePatterns?: string[]; excludePatterns: string[] }) => State,
): Promise<DockerfileContextFacts> {
  const dir = img.context.replace(/^\.?\/+/, '').replace(/\/+$/, '').replace(/^\.$/, '');
  const snap = await readContextSnapshot(gw, ref, [dir]);
  const strip = dir === '' ? 0 : dir.length + 1;
  const entries = (await snap.repo.lsTree(snap.repo.commit)).filter((e) => e.type === 'blob' && (dir === '' || e.path.startsWith(dir + '/')));
  if (dir !== '' && entries.length === 0 && !snap.gitDirs.has(dir)) {
    throw new StapelkitError('DOCKERFILE_CONTEXT', `${imageLabel(img)}: context "${img.context}" is not a directory of the build context (or is empty)`, { pos: img.pos });
  }
  const files: ContextFile[] = entries.map((e) => ({ path: e.path.slice(strip), mode: e.mode, id: e.oid }));
  const byPath = new Map(files.map((f) => [f.path, f]));
  const text = async (rel: string) => {
    const f = byPath.get(rel);
    return f ? (await snap.repo.readBlob(f.id))?.toString('utf8') : undefined;
  };
  const dockerfilePath = [dir, img.dockerfile].filter(Boolean).join('/');
  const dockerfileText = await text(img.dockerfile);
  if (dockerfileText === undefined) {
    throw new StapelkitError('DOCKERFILE_MISSING', `${imageLabel(img)}: the Dockerfile "${dockerfilePath}" was not found in the build context`, { pos: img.pos, hint: 'check `dockerfile:` (relative to `context:`)' });
  }
  let dockerignore: DockerfileContextFacts['dockerignore'];
  for (const f of dockerignoreCandidates(img.dockerfile)) {
    const t = await text(f);
    if (t !== undefined) {
      dockerignore = { file: [dir, f].filter(Boolean).join('/'), text: t };
      break;
    }
  }
  return {
    files,
    dockerfileText,
    dockerignore,
    state: (excludePatterns) => {
      const excludes = [...excludePatterns.map((p) => rebasePattern(dir, p)), '**/.git'];
      if (dir === '') return contextLocal({ excludePatterns: excludes });
      // Only the `context:` directory is transferred, then laid at the root the Dockerfile sees.
      const whole = contextLocal({ includePatterns: [dir], excludePatterns: excludes });
      return scratch().file(copy(whole, `/${dir}/`, '/', { createDestPath: true, followSymlinks: false, allowWildcard: false, dirCopyContents: true }), { customName: `[internal] ${imageLabel(img)} context ${dir}` });
    },
    serve: async () => undefined,
  };
}
