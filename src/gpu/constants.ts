// WebGPU flag values (the spec's numbers), so the library needs no GPUBufferUsage globals, which
// Node's `webgpu` package provides only through its `globals` export.

export const BufferUsage = {
  MAP_READ: 0x0001,
  MAP_WRITE: 0x0002,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
} as const;

export const MapMode = {
  READ: 0x0001,
  WRITE: 0x0002,
} as const;

/** The largest number of workgroups one dispatch dimension may have (WebGPU's default limit). */
export const MAX_WORKGROUPS_PER_DIMENSION = 65535;
