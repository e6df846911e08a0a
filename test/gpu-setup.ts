// The GPU for tests: Dawn (the `webgpu` package) on whatever Vulkan driver is installed; on a
// machine without a GPU that is Mesa's lavapipe. In CI (CI=true) a missing adapter fails the
// suite; elsewhere the GPU tests are skipped with the same message.
import { afterAll, beforeAll } from 'vitest';
import { createHybrid, type HybridEngine } from '../src/index.js';

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

/** The backends a table of cases runs on. */
export const BACKENDS = [
  { name: 'cpu', backend: 'cpu' as const, skip: false },
  { name: 'gpu', backend: 'gpu' as const, skip: !runGpuTests },
];

/** createHybrid options for a backend's engine in tests. */
export function engineOptions(backend: 'cpu' | 'gpu'): { gpu: GPU | null } {
  if (backend === 'gpu' && !testGpu) throw new Error(LAVAPIPE_HELP);
  return { gpu: backend === 'gpu' ? testGpu : null };
}

/**
 * An engine for one backend of a describe.each(BACKENDS) block: created before its tests (unless
 * skipped), handed to `set`, disposed after them.
 */
export function useEngine(backend: 'cpu' | 'gpu', skip: boolean, set: (engine: HybridEngine) => void): void {
  let engine: HybridEngine | undefined;
  beforeAll(async () => {
    if (skip) return;
    engine = await createHybrid(engineOptions(backend));
    set(engine);
  });
  afterAll(async () => {
    await engine?.dispose();
  });
}
