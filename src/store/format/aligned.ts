// Typed views of bytes read from a source: in place when the bytes are 4-byte aligned (a path,
// Blob or stream source's buffer always is, bytes given by the caller may not be), else a copy
// into one scratch buffer, reused.

/** Float32Array / Uint32Array views of byte pieces (see the file comment). */
export class AlignedViews {
  private scratch = new ArrayBuffer(0);

  private aligned(bytes: Uint8Array): { buffer: ArrayBufferLike; offset: number } {
    if (bytes.byteOffset % 4 === 0) return { buffer: bytes.buffer, offset: bytes.byteOffset };
    if (this.scratch.byteLength < bytes.length) this.scratch = new ArrayBuffer(bytes.length);
    new Uint8Array(this.scratch, 0, bytes.length).set(bytes);
    return { buffer: this.scratch, offset: 0 };
  }

  float32(bytes: Uint8Array): Float32Array {
    const { buffer, offset } = this.aligned(bytes);
    return new Float32Array(buffer, offset, bytes.length / 4);
  }

  uint32(bytes: Uint8Array): Uint32Array {
    const { buffer, offset } = this.aligned(bytes);
    return new Uint32Array(buffer, offset, bytes.length / 4);
  }
}
