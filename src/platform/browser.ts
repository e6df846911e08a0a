// '#platform' in browsers and every runtime without the `node` condition (package.json
// "imports"): web APIs only, no Node built-ins, no `webgpu` package. See types.ts.

/** Which implementation of '#platform' this is. */
export const platformName = 'browser' as const;

/** The bytes at `url` (see Platform.loadBytes). */
export async function loadBytes(url: URL): Promise<ArrayBuffer> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`fetch ${url.href}: ${response.status}`);
  return response.arrayBuffer();
}

/** The `GPU` to use when the caller passed none, or null (see Platform.defaultGpu). */
export async function defaultGpu(): Promise<GPU | null> {
  // Absent in browsers without WebGPU; present but offering no adapter on others (Android,
  // Linux without the flag): the engine then runs on the CPU.
  return (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu ?? null;
}

/** A text file's contents (see Platform.readTextFile). */
export async function readTextFile(path: string): Promise<string> {
  throw new Error(`reading the file ${path} needs Node; in a browser pass the text to parseConfigToml`);
}

/** Environment variables that may override config (see Platform.environment). */
export function environment(): Record<string, string | undefined> | undefined {
  return undefined;
}
