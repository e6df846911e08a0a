// What `info().gpu` reports; kept free of WebGPU types so the public typings need none.

/** What `info().gpu` reports. */
export interface GpuInfo {
  adapter: { vendor: string; architecture: string; device: string; description: string };
  /** The limits this library requested and got. */
  limits: Record<string, number>;
  /** The adapter's features this device enabled (of shader-f16, subgroups, timestamp-query). */
  features: string[];
  /**
   * f16 indexes are stored as f16 on the GPU: always, since their rows are read as packed words
   * and widened with unpack2x16float, which needs no shader-f16 (kept for callers that ask).
   */
  f16Storage: boolean;
  /** Bytes of resident corpora this engine may keep on the device (vramSafetyMargin of maxBufferSize). */
  memoryBudgetBytes: number;
}
