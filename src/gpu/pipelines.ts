import { WGSL, type KernelName } from '../generated/wgsl.js';

/** Element type of corpus rows in a kernel: f32, or f16 (an f16 index with shader-f16). */
export type RowType = 'f32' | 'f16';

/**
 * Keep the lines between `// #if NAME` and `// #else` / `// #endif` when NAME is in `flags`,
 * and those between `// #else` and `// #endif` when it is not (one level, no nesting): a kernel
 * file carries its variant for an optional feature (e.g. subgroups) without a second copy.
 */
export function preprocess(code: string, flags: ReadonlySet<string>): string {
  const out: string[] = [];
  let keep = true;
  let inside: string | null = null;
  for (const line of code.split('\n')) {
    const directive = /^\s*\/\/ #(if|else|endif)\b\s*(\w*)/.exec(line);
    if (directive) {
      if (directive[1] === 'if') {
        inside = directive[2]!;
        keep = flags.has(inside);
      } else if (directive[1] === 'else') {
        keep = inside !== null && !flags.has(inside);
      } else {
        inside = null;
        keep = true;
      }
      continue;
    }
    if (keep) out.push(line);
  }
  return out.join('\n');
}

/**
 * Compiles each kernel once per key (kernel, row type, override constants) and keeps it. The
 * override constants (workgroup size, chunks per row, ...) are baked in at pipeline creation,
 * so the compiler sees them as constants.
 */
export class PipelineCache {
  private readonly device: GPUDevice;
  private readonly flags: ReadonlySet<string>;
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();

  /** `flags`: the optional device features kernels may use (e.g. 'subgroups'). */
  constructor(device: GPUDevice, flags: ReadonlySet<string>) {
    this.device = device;
    this.flags = flags;
  }

  /** Pipelines compiled so far. */
  get size(): number {
    return this.pipelines.size;
  }

  get(kernel: KernelName, rowType: RowType, constants: Record<string, number>, entryPoint = 'main'): GPUComputePipeline {
    const key = `${kernel}.${entryPoint}|${rowType}|${Object.entries(constants).map(([k, v]) => `${k}=${v}`).join(',')}`;
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      pipeline = this.device.createComputePipeline({
        label: key,
        layout: 'auto',
        compute: { module: this.module(kernel, rowType), entryPoint, constants },
      });
      this.pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  private module(kernel: KernelName, rowType: RowType): GPUShaderModule {
    const key = `${kernel}|${rowType}`;
    let module = this.modules.get(key);
    if (!module) {
      let code = preprocess(WGSL[kernel], this.flags);
      code = code.replace(/\bROW\b/g, rowType === 'f16' ? 'vec4<f16>' : 'vec4<f32>');
      if (rowType === 'f16' && !code.includes('enable f16;')) code = `enable f16;\n${code}`;
      module = this.device.createShaderModule({ label: key, code });
      this.modules.set(key, module);
    }
    return module;
  }
}
