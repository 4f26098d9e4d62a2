/**
 * Pushing a `docker save` tarball (manifest.json + config + layer tars, as base-images.ts writes
 * them) to a registry as a Docker schema 2 image: layers gzip-compressed, config and layers
 * uploaded, then the manifest under the tag. Lets a daemon without an image store (buildkitd) pull
 * the fixtures by a registry reference.
 */
import { gzipSync } from 'node:zlib';
import { StapelkitError } from '../errors';
import { readTar } from '../buildkit/tar';
import type { RegistryClient } from './client';
import { MediaType, type ImageManifest } from './media-types';

interface SaveManifestEntry { Config: string; RepoTags?: string[]; Layers: string[] }

export interface PushedImage {
  /** `sha256:…` of the manifest. */
  digest: string;
  manifest: ImageManifest;
}

/** Pushes the first image of a docker-save tarball as `repo:tag`. */
export async function pushDockerArchive(client: RegistryClient, repo: string, tag: string, tarball: Buffer): Promise<PushedImage> {
  const files = new Map(readTar(tarball).filter((e) => e.type === 'file').map((e) => [e.path.replace(/^\.\//, ''), e.data]));
  const index = files.get('manifest.json');
  if (!index) throw new StapelkitError('REGISTRY_ARCHIVE', 'image tarball has no manifest.json');
  const [entry] = JSON.parse(index.toString('utf8')) as SaveManifestEntry[];
  if (!entry) throw new StapelkitError('REGISTRY_ARCHIVE', 'image tarball holds no image');
  const get = (p: string) => {
    const b = files.get(p);
    if (!b) throw new StapelkitError('REGISTRY_ARCHIVE', `image tarball lacks ${p}`);
    return b;
  };
  const config = get(entry.Config);
  const layers = [];
  for (const p of entry.Layers) {
    // Deterministic gzip (no name/mtime in the header): the same layer always has the same digest.
    const gz = gzipSync(get(p), { level: 6 });
    const up = await client.uploadBlob(repo, gz);
    layers.push({ mediaType: MediaType.dockerLayer, digest: up.digest, size: up.size });
  }
  const cfg = await client.uploadBlob(repo, config);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.dockerManifest,
    config: { mediaType: MediaType.dockerConfig, digest: cfg.digest, size: cfg.size },
    layers,
  };
  const digest = await client.putManifest(repo, tag, manifest);
  return { digest, manifest };
}
