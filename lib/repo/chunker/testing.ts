// Test helpers for the chunker (not used in production): deterministic pseudo-random bytes, a literal
// implementation of docs/repository-format.md §6.1 to check the fast one against, and piece splitting.
import { createCipheriv } from 'node:crypto';
import type { GearTable } from './gear';
import { masksFor, type ChunkerParams } from './params';

/** AES-256-CTR keystream (key = 32 bytes of `seed`, IV = 16 zero bytes): reproducible in any language. */
export function keystream(length: number, seed = 0): Buffer {
  const cipher = createCipheriv('aes-256-ctr', Buffer.alloc(32, seed), Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(length)), cipher.final()]);
}

/** Low-entropy, source-like text: repeated keywords and indentation, deterministic for a seed. */
export function sourceLikeText(length: number, seed = 1): Buffer {
  const words = 'const let return if else for while function export import from class new this null true false await async'.split(' ');
  const rnd = keystream(length, seed);
  const out = Buffer.alloc(length);
  let o = 0;
  for (let r = 0; o < length; r++) {
    const line = `${'  '.repeat(rnd[r]! & 3)}${words[rnd[r]! % words.length]} x${rnd[(r + 1) % length]! & 15} = ${words[rnd[(r + 2) % length]! % words.length]};\n`;
    o += out.write(line, o);
  }
  return out;
}

/** Chunk lengths exactly as the spec text says, one candidate length at a time, in plain uint32 arithmetic. */
export function referenceChunkLengths(data: Uint8Array, gear: GearTable, p: ChunkerParams): number[] {
  const { maskS, maskL } = masksFor(p.avgSize);
  const lengths: number[] = [];
  for (let s = 0; s < data.length; ) {
    const n = data.length - s;
    let length = Math.min(n, p.maxSize);
    let h = 0;
    for (let L = p.minSize; L < p.maxSize && L <= n; L++) {
      h = (h * 2 + (gear[data[s + L - 1]!]! >>> 0)) % 2 ** 32;
      if ((h & (L < p.avgSize ? maskS : maskL)) >>> 0 === 0) {
        length = L;
        break;
      }
    }
    lengths.push(length);
    s += length;
  }
  return lengths;
}

/** Splits data into consecutive pieces of the given sizes, cycling through them. */
export function split(data: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0, k = 0; off < data.length; k++) {
    const size = sizes[k % sizes.length]!;
    out.push(data.subarray(off, off + size));
    off += size;
  }
  return out;
}
