/**
 * GPU buffers reused by size bucket and usage, so that queries,
 * outputs, uniforms and readback buffers are not created per call.
 */
export class BufferPool {
  private readonly device: GPUDevice;
  private readonly free = new Map<string, GPUBuffer[]>();
  private readonly live = new Set<GPUBuffer>();

  constructor(device: GPUDevice) {
    this.device = device;
  }

  /** Buffers created by this pool and not yet destroyed (in use or free). */
  get bufferCount(): number {
    return this.live.size;
  }

  acquire(bytes: number, usage: number, label: string): GPUBuffer {
    const size = bucket(bytes);
    const list = this.free.get(`${usage}|${size}`);
    const reused = list?.pop();
    if (reused) return reused;
    const buffer = this.device.createBuffer({ size, usage, label });
    this.live.add(buffer);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    if (!this.live.has(buffer)) return;
    const key = `${buffer.usage}|${buffer.size}`;
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    list.push(buffer);
  }

  /** Destroy a buffer instead of returning it (e.g. one whose mapping never finished). */
  discard(buffer: GPUBuffer): void {
    this.live.delete(buffer);
    buffer.destroy();
  }

  destroyAll(): void {
    for (const buffer of this.live) buffer.destroy();
    this.live.clear();
    this.free.clear();
  }
}

/** Powers of two up to 1 MiB; above, steps of an eighth of the power of two below (<= 12.5% waste). */
function bucket(bytes: number): number {
  if (bytes <= 1 << 20) return Math.max(256, 2 ** Math.ceil(Math.log2(Math.max(bytes, 1))));
  const step = 2 ** (Math.floor(Math.log2(bytes)) - 3);
  return Math.ceil(bytes / step) * step;
}
