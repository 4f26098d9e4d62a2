/**
 * The example image as an LLB graph (pure; no I/O):
 *
 *   base image ──► COPY <local context> /app ──► RUN (writes /app/stamp.txt; cache mount kept between builds)
 *
 * plus the image config the exporter writes (WorkingDir /app, Cmd /app/hello.sh, Env, labels).
 */
import { copy, image, local, type State } from '../llb';

/** `local://` name of the project directory in the session. */
export const CONTEXT_NAME = 'context';
/** Where the RUN step sees the cache that persists between builds. */
export const CACHE_TARGET = '/var/cache/stapelkit-example';
export const CACHE_ID = 'stapelkit-example';
export const EXAMPLE_LABEL = 'dev.stapelkit.example';

export interface BaseConfig {
  Env?: string[];
  /** Number of layers of the base image, when known: then the config carries a history entry per layer. */
  layers?: number;
}

export interface ExampleGraphOptions {
  /** e.g. `stapelkit/busybox:amd64` */
  baseImage: string;
  /** The base image's config (its Env reaches the RUN step and the result). */
  baseConfig?: BaseConfig;
  arch: string;
  /** Session that serves the project directory as `local://context`. */
  sessionId: string;
  /** .dockerignore patterns. */
  excludes: string[];
  /** Lets the daemon reuse the previous transfer of the same directory. */
  sharedKeyHint?: string;
  /** RFC 3339 creation time of the image. */
  created: string;
}

export interface ExampleGraph {
  state: State;
  /**
   * rootfs is left to the exporter. history names the steps when the base's layer count is known
   * (the exporter matches entries to layers in order); otherwise the exporter writes generic ones.
   */
  imageConfig: {
    architecture: string;
    os: 'linux';
    created: string;
    config: { Env: string[]; WorkingDir: string; Cmd: string[]; Labels: Record<string, string> };
    history?: { created: string; created_by: string; comment?: string }[];
  };
}

/**
 * Counts builds in the cache mount, so a rebuild that really runs shows the cache survived
 * (build #N+1), while a cached rebuild keeps the old stamp.
 */
export const STAMP_SCRIPT = [
  'set -e',
  `n=$(cat ${CACHE_TARGET}/builds 2>/dev/null || echo 0)`,
  'n=$((n + 1))',
  `echo "$n" > ${CACHE_TARGET}/builds`,
  'echo "build #$n of the example on $(uname -m) at $(date -u +%Y-%m-%dT%H:%M:%SZ)" > /app/stamp.txt',
  'cat /app/stamp.txt',
].join('\n');

export function exampleGraph(o: ExampleGraphOptions): ExampleGraph {
  const baseEnv = o.baseConfig?.Env ?? [];
  const base = image(o.baseImage, { customName: `[example 1/3] FROM ${o.baseImage}` }).withImageConfig({ config: { Env: baseEnv } });
  const context = local(CONTEXT_NAME, {
    sessionId: o.sessionId,
    excludePatterns: o.excludes,
    sharedKeyHint: o.sharedKeyHint,
    customName: `[internal] load build context`,
  });
  const copied = base.file(copy(context, '/', '/app/', { dirCopyContents: true, createDestPath: true, allowWildcard: true, allowEmptyWildcard: true }), {
    customName: '[example 2/3] COPY . /app',
  });
  const built = copied
    .dir('/app')
    .run({
      shell: STAMP_SCRIPT,
      mounts: [{ type: 'cache', target: CACHE_TARGET, id: CACHE_ID, sharing: 'locked' }],
      customName: '[example 3/3] RUN write /app/stamp.txt',
    })
    .root();

  const env = [...baseEnv.filter((e) => !e.startsWith('STAPELKIT_EXAMPLE=')), 'STAPELKIT_EXAMPLE=hello'];
  if (!env.some((e) => e.startsWith('PATH='))) env.unshift('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  const step = (created_by: string) => ({ created: o.created, created_by, comment: 'stapelkit example' });
  const history =
    o.baseConfig?.layers !== undefined
      ? [...Array.from({ length: o.baseConfig.layers }, (_, i) => step(`${o.baseImage} layer ${i + 1}`)), step('COPY . /app'), step('RUN write /app/stamp.txt')]
      : undefined;
  return {
    state: built,
    imageConfig: {
      architecture: o.arch,
      os: 'linux',
      created: o.created,
      config: {
        Env: env,
        WorkingDir: '/app',
        Cmd: ['/app/hello.sh'],
        Labels: { [EXAMPLE_LABEL]: 'hello', 'org.opencontainers.image.title': 'stapelkit example' },
      },
      ...(history ? { history } : {}),
    },
  };
}
