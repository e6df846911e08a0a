// XXH64 (seed 0) through the xxhash-wasm package: the same WebAssembly in Node and browsers,
// ~5-7 GB/s streaming on this project's machine (docs/PERFORMANCE.md, persistence).
import xxhash from 'xxhash-wasm';

/** An XXH64 over bytes given in pieces. */
export interface RunningChecksum {
  update(bytes: Uint8Array): void;
  /** The checksum of everything given so far. */
  digest(): bigint;
}

/** Makes checksums (one WebAssembly instance, shared). */
export interface Checksums {
  running(): RunningChecksum;
  of(bytes: Uint8Array): bigint;
}

/**
 * xxhash-wasm copies each input into its memory, which grows to the largest input: feeding it
 * slices of at most this size keeps that memory small (and measured no slower than larger ones).
 */
const SLICE_BYTES = 64 << 10;

let instance: Promise<Checksums> | undefined;

/** The shared checksum maker (instantiated on first use). */
export function checksums(): Promise<Checksums> {
  instance ??= xxhash().then((api) => {
    const running = (): RunningChecksum => {
      const state = api.create64();
      return {
        update(bytes) {
          for (let at = 0; at < bytes.length; at += SLICE_BYTES) state.update(bytes.subarray(at, at + SLICE_BYTES));
        },
        digest: () => state.digest(),
      };
    };
    return {
      running,
      of(bytes) {
        const sum = running();
        sum.update(bytes);
        return sum.digest();
      },
    };
  });
  return instance;
}
