// The machine a run was measured on, as a report prints it.
import os from 'node:os';
import type { HybridEngine } from '../engine.js';
import { isSoftwareAdapterInfo } from '../gpu/device.js';
import type { MachineDescription } from './types.js';

/** CPU model and cores, memory, Node, the WASM kernels and the engine's GPU adapter. */
export function describeMachine(engine: HybridEngine): MachineDescription {
  const info = engine.info();
  const gpu = info.gpu;
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    wasm: { source: info.cpu.wasmSource, bytes: info.cpu.wasmBytes, simd: info.cpu.simd },
    gpu: gpu ? {
      ...gpu.adapter,
      software: isSoftwareAdapterInfo(gpu.adapter),
      features: gpu.features,
      limits: gpu.limits,
    } : null,
  };
}

/** One line: "AMD EPYC, 2 cores, 23.4 GiB, Node v20.20.2; GPU: llvmpipe (software) ...". */
export function machineLine(machine: MachineDescription): string {
  const gpu = machine.gpu;
  const adapter = gpu
    ? `${gpu.description || gpu.device || 'unknown'} (${[gpu.vendor, gpu.architecture].filter(Boolean).join(', ') || 'no vendor info'})` +
      (gpu.software ? ', a software rasteriser: its figures check the harness, not GPU speed' : '')
    : 'none';
  return `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node} (${machine.platform}); ` +
    `WASM SIMD kernels (${machine.wasm.bytes} bytes); GPU: ${adapter}`;
}
