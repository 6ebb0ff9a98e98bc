// Saving a chunk that Repository.hashedChunks gave: one that owns its memory is handed over to the seal
// worker; one in the chunker's ring is lent (SaveHints.lent) and its room given back once it is sealed, at
// once when it was deduplicated, or when the save fails.
import type { HashedChunk } from './chunker/chunk-pool';
import type { SaveHints } from './content/types';

type Saved = { stored: boolean; storedLength: number | Promise<number> };

/** Saves `chunk` with `save` (saveBlob with its type and signal) and gives the chunk's ring room back when it may. */
export async function saveHashedChunk<S extends Saved>(save: (data: Buffer, hints: SaveHints) => Promise<S>, chunk: HashedChunk): Promise<S> {
  const { data, rawId, release } = chunk;
  let saved: S;
  try {
    saved = await save(data, { rawId, handOver: true, lent: release !== undefined });
  } catch (err) {
    release?.();
    throw err;
  }
  if (release) {
    if (saved.stored) void Promise.resolve(saved.storedLength).then(release, release);
    else release();
  }
  return saved;
}
