/**
 * Daemons Stapelkit finds, starts or talks to besides BuildKit's own API: address discovery and
 * connect(), the private dockerd (embedded default and test daemons), the Docker Engine API, the
 * locally made base images, and the daemon flags of the CLI.
 */
export { connect, resolveAddress, type ConnectOptions } from './connect';
export { startDockerd, stopDockerdAt, removeStateDir, ensureEmbeddedDockerd, embeddedStateDir, embeddedDockerdStatus, stopEmbeddedDockerd, type EmbeddedStatus, ensureBinfmt, userStateDir, lockFile, type DockerdInstance, type DockerdOptions } from './dockerd';
export { ensureBusyboxImage, busyboxTag, type BusyboxArch } from './base-images';
export { DockerApi, type ImageInspect, type ImageSummary } from './docker-api';
export { addCacheOptions, addConnectionOptions, addDaemonOptions, cacheFromFlags, connectWithFlags, progressFromFlags, type CacheFlags, type DaemonFlags } from './cli-options';
