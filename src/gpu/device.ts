import { defaultGpu } from '#platform';
import type { HybridConfig } from '../config.js';
import { silent, type Log } from '../logger.js';
import type { GpuInfo } from './info.js';

/** An acquired device with what was learnt while acquiring it. */
export interface GpuContext {
  /**
   * The GPU (instance) the device came from. It must stay referenced while the device lives:
   * with Dawn in Node, a collected instance takes its event loop with it and the next
   * ProcessEvents aborts the process.
   */
  gpu: GPU;
  device: GPUDevice;
  info: GpuInfo;
}

const WANTED_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query'] as const;

/**
 * The `GPU` to use: the one passed in; else the platform's (navigator.gpu, or in Node the
 * optional `webgpu` package; see src/platform). Null when there is none; never throws.
 */
export async function findGpu(option: unknown, log: Log = silent): Promise<GPU | null> {
  if (option === null) return null;
  if (option !== undefined) return option as GPU;
  return defaultGpu(log);
}

/** Adapter info that names a CPU emulation (Mesa lavapipe/llvmpipe, SwiftShader). */
export function isSoftwareAdapterInfo(info: { architecture?: string; device?: string; description?: string } | undefined): boolean {
  const text = `${info?.architecture ?? ''} ${info?.device ?? ''} ${info?.description ?? ''}`;
  return /llvmpipe|lavapipe|swiftshader|software/i.test(text);
}

/** A CPU-emulated adapter (isSoftwareAdapterInfo, or a browser's fallback adapter). */
export function isSoftwareAdapter(adapter: GPUAdapter): boolean {
  const info = adapter.info;
  const fallback = (adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
    (info as unknown as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter === true;
  return fallback || isSoftwareAdapterInfo(info);
}

/**
 * Request an adapter and a device with the adapter's own limits that we need and the optional
 * features we use. Null when no adapter is offered (no GPU, or an Android-style browser), and,
 * unless `allowSoftware`, when the adapter is a software rasteriser: that runs the kernels on
 * the CPU, slower than the WASM path, so it is used only when the caller passed its GPU object.
 */
export async function acquireDevice(gpu: GPU, config: HybridConfig, allowSoftware: boolean,
  log: Log = silent): Promise<GpuContext | null> {
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    log('debug', 'GPU: no adapter offered; CPU only');
    return null;
  }
  if (!allowSoftware && isSoftwareAdapter(adapter)) {
    log('debug', `GPU: the adapter is a software one (${adapter.info?.description || adapter.info?.device || '?'}); CPU only`);
    return null;
  }
  const features = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  const want = {
    maxBufferSize: adapter.limits.maxBufferSize,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: adapter.limits.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupsPerDimension: adapter.limits.maxComputeWorkgroupsPerDimension,
    maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage,
  };
  const device = await adapter.requestDevice({
    requiredFeatures: features as GPUFeatureName[],
    requiredLimits: want,
  });
  routeDeviceMessages(device, log);
  const info = adapter.info;
  log('debug', `GPU: device on ${info?.description || info?.device || info?.vendor || 'an adapter'}` +
    ` (features: ${features.join(', ') || 'none'}; maxBufferSize ${device.limits.maxBufferSize})`);
  const limits: Record<string, number> = {};
  for (const key of Object.keys(want)) limits[key] = (device.limits as unknown as Record<string, number>)[key]!;
  return {
    gpu,
    device,
    info: {
      adapter: {
        vendor: info?.vendor ?? '',
        architecture: info?.architecture ?? '',
        device: info?.device ?? '',
        description: info?.description ?? '',
      },
      limits,
      features: features.filter((f) => device.features.has(f)),
      f16Storage: true,
      memoryBudgetBytes: Math.floor(config.vramSafetyMargin * device.limits.maxBufferSize),
    },
  };
}

/**
 * Errors outside an error scope and losses of the device go to the logger. The kernels run
 * inside error scopes (gpu-backend.ts), so an uncaptured error means a bug; unhandled, Dawn's
 * Node binding would print it to the process's stdout. Handling the event (preventDefault)
 * keeps it there. A loss that dispose() did not cause is logged too (the router also rests the
 * GPU and probes it later).
 */
function routeDeviceMessages(device: GPUDevice, log: Log): void {
  device.addEventListener('uncapturederror', (event) => {
    event.preventDefault();
    const error = (event as GPUUncapturedErrorEvent).error;
    log('warn', `GPU: uncaptured ${error?.constructor?.name ?? 'error'}: ${String(error?.message ?? error).trim()}`);
  });
  void device.lost.then((info) => {
    if (info.reason !== 'destroyed') log('warn', `GPU: device lost (${info.reason ?? 'unknown'}): ${info.message}`);
  }, () => undefined);
}
