/**
 * No stages storage: a standalone buildkitd without `--repo` has no image store to keep stages in.
 * Nothing is found or stored; BuildKit's own cache decides what runs again (the driver chains the
 * stage graphs instead of starting from stored images).
 */
import { StapelkitError } from '../errors';
import type { StagesStorage, StoredStage } from './types';

export class NoStagesStorage implements StagesStorage {
  readonly persistent = false;
  readonly repo = '(none)';
  /** What the CLI says once, so users know why every build re-checks BuildKit's cache. */
  readonly note = 'no stages storage: the daemon has no image store and no --repo was given; BuildKit\'s cache alone decides what runs again';

  async list(): Promise<Map<string, StoredStage[]>> {
    return new Map();
  }

  async store(): Promise<StoredStage> {
    throw new StapelkitError('INTERNAL', 'the "none" stages storage stores nothing (the driver must not call store when persistent is false)');
  }

  sourceRef(stage: StoredStage): string {
    throw new StapelkitError('INTERNAL', `the "none" stages storage has no stage ${stage.imageName}`);
  }
}
