// Compile-time only: both implementations of '#platform' export every member of Platform with
// its type (TypeScript itself resolves '#platform' to node.ts, so browser.ts is checked here).
import type { Platform } from './types.js';

type Implements<T extends Platform> = T;
export type NodePlatform = Implements<typeof import('./node.js')>;
export type BrowserPlatform = Implements<typeof import('./browser.js')>;
