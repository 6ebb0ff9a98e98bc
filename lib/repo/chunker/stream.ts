// Streaming front end of the chunker: turns any async iterable of byte pieces (a Node Readable, a web
// ReadableStream's async iterator, a generator) into content-defined chunks, in order, with flat memory
// (at most maxSize bytes pending plus one piece; the source is only read as fast as chunks are consumed).
// Output is identical to chunkBuffer on the concatenated input. Errors: source errors propagate unchanged;
// a source yielding strings (a Readable with an encoding set) is rejected with a TypeError; bad params or
// gear table throw at the first iteration. Breaking out of the loop returns the source's iterator (closes it).
import { Chunker } from './fastcdc';
import type { GearTable } from './gear';
import { DEFAULT_CHUNKER_PARAMS, type ChunkerParams } from './params';

export async function* chunkStream(
  source: AsyncIterable<Uint8Array | string>,
  gear: GearTable,
  params: ChunkerParams = DEFAULT_CHUNKER_PARAMS,
): AsyncGenerator<Buffer, void, undefined> {
  const chunker = new Chunker(gear, params);
  for await (const piece of source) {
    if (!(piece instanceof Uint8Array)) {
      throw new TypeError(`chunkStream needs a byte stream, got a ${typeof piece} piece (remove the stream's encoding)`);
    }
    for (const chunk of chunker.push(piece)) yield chunk;
  }
  const last = chunker.finish();
  if (last) yield last;
}
