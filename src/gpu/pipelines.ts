import { WGSL, type KernelName } from '../generated/wgsl.js';

/** Element type of corpus rows in a kernel: f32, or f16 (an f16 index with shader-f16). */
export type RowType = 'f32' | 'f16';

/**
 * Compiles each kernel once per key (kernel, row type, override constants) and keeps it. The
 * override constants (workgroup size, chunks per row, ...) are baked in at pipeline creation,
 * so the compiler sees them as constants.
 */
export class PipelineCache {
  private readonly device: GPUDevice;
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();

  constructor(device: GPUDevice) {
    this.device = device;
  }

  /** Pipelines compiled so far. */
  get size(): number {
    return this.pipelines.size;
  }

  get(kernel: KernelName, rowType: RowType, constants: Record<string, number>): GPUComputePipeline {
    const key = `${kernel}|${rowType}|${Object.entries(constants).map(([k, v]) => `${k}=${v}`).join(',')}`;
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      pipeline = this.device.createComputePipeline({
        label: key,
        layout: 'auto',
        compute: { module: this.module(kernel, rowType), entryPoint: 'main', constants },
      });
      this.pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  private module(kernel: KernelName, rowType: RowType): GPUShaderModule {
    const key = `${kernel}|${rowType}`;
    let module = this.modules.get(key);
    if (!module) {
      let code: string = WGSL[kernel];
      code = code.replace(/\bROW\b/g, rowType === 'f16' ? 'vec4<f16>' : 'vec4<f32>');
      if (rowType === 'f16' && !code.includes('enable f16;')) code = `enable f16;\n${code}`;
      module = this.device.createShaderModule({ label: key, code });
      this.modules.set(key, module);
    }
    return module;
  }
}
