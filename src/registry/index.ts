/** The registry layer: a registry HTTP API v2 client and pushing image tarballs with it. */
export { RegistryClient, RegistryError, digestOf, nextLink, registryApiHost } from './client';
export type { FetchedManifest, ImageConfigResult, ManifestHead, PlatformSpec, RegistryClientOptions, RegistryErrorDetail } from './client';
export { parseChallenges, type Challenge, type RegistryCredentials } from './auth';
export { MediaType, MANIFEST_ACCEPT, isIndexMediaType, isManifestMediaType } from './media-types';
export type { Descriptor, ImageIndex, ImageManifest } from './media-types';
export { pushDockerArchive, type PushedImage } from './archive';
