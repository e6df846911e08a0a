// The GPU for tests: Dawn (the `webgpu` package) on whatever Vulkan driver is installed; on a
// machine without a GPU that is Mesa's lavapipe. In CI (CI=true) a missing adapter fails the
// suite; elsewhere the GPU tests are skipped with the same message.
import { afterAll, beforeAll } from 'vitest';
import { createHybrid, type HybridEngine, type HybridOptions } from '../src/index.js';
import { cpuOf } from '../src/testing.js';

export const LAVAPIPE_HELP =
  'No WebGPU adapter: install Mesa lavapipe from Debian bookworm-backports ' +
  '(apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1; see .ci/run), ' +
  'and set XDG_RUNTIME_DIR=/tmp if it is unset.';

async function findTestGpu(): Promise<GPU | null> {
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  try {
    const { create } = (await import('webgpu')) as { create: (flags: string[]) => GPU };
    const gpu = create([]);
    const adapter = await gpu.requestAdapter();
    return adapter ? gpu : null;
  } catch {
    return null;
  }
}

/** The GPU object to pass as `createHybrid({ gpu })`, or null (tests skip) outside CI. */
export const testGpu: GPU | null = await findTestGpu();

export const inCi = process.env.CI === 'true' || process.env.CI === '1';

/** Call at the top of a GPU test file: in CI a missing adapter is a failure, never a skip. */
export function requireGpuInCi(): void {
  beforeAll(() => {
    if (!testGpu && inCi) throw new Error(LAVAPIPE_HELP);
    if (!testGpu) console.warn(`GPU tests skipped: ${LAVAPIPE_HELP}`);
  });
}

/** Whether GPU cases run: an adapter exists, or we are in CI (where they must then fail). */
export const runGpuTests = testGpu !== null || inCi;

/**
 * The engines a table of cases runs on: `cpu` as users get it (worker threads above the pool's
 * threshold, off the main thread), `cpu-split` with every call split across this thread and two
 * workers (threshold 0, so awkward small shapes are split too), and `gpu`.
 */
export const BACKENDS = [
  { name: 'cpu' as EngineName, backend: 'cpu' as const, skip: false },
  { name: 'cpu-split' as EngineName, backend: 'cpu' as const, skip: false },
  { name: 'gpu' as EngineName, backend: 'gpu' as const, skip: !runGpuTests },
];

export type EngineName = 'cpu' | 'cpu-split' | 'gpu';

/** createHybrid options for a backend's engine in tests. */
export function engineOptions(backend: 'cpu' | 'gpu'): { gpu: GPU | null } {
  if (backend === 'gpu' && !testGpu) throw new Error(LAVAPIPE_HELP);
  return { gpu: backend === 'gpu' ? testGpu : null };
}

/** A test engine of one of BACKENDS (plus `extra` config). */
export async function engineFor(name: EngineName, extra: HybridOptions = {}): Promise<HybridEngine> {
  if (name === 'cpu-split') {
    const engine = await createHybrid({ gpu: null, cpuThreads: 3, offMainThread: false, ...extra });
    cpuOf(engine).minWorkBytes = 0;
    return engine;
  }
  return createHybrid({ ...engineOptions(name), ...extra });
}

/**
 * An engine for one entry of a describe.each(BACKENDS) block: created before its tests (unless
 * skipped), handed to `set`, disposed after them.
 */
export function useEngine(name: EngineName, skip: boolean, set: (engine: HybridEngine) => void): void {
  let engine: HybridEngine | undefined;
  beforeAll(async () => {
    if (skip) return;
    engine = await engineFor(name);
    set(engine);
  });
  afterAll(async () => {
    await engine?.dispose();
  });
}
