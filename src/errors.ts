/** Every kind of caller mistake or failure has its own code. */
export type HybridErrorCode =
  | 'NON_FINITE'
  | 'DIMENSION_MISMATCH'
  | 'EMPTY_INPUT'
  | 'INVALID_ARGUMENT'
  | 'INVALID_CONFIG'
  | 'UNKNOWN_NODE'
  | 'DISPOSED'
  | 'GPU_UNAVAILABLE'
  | 'OUT_OF_MEMORY'
  | 'DUPLICATE_KEY'
  | 'GPU_FAILED'
  | 'INVALID_FILE'
  | 'IO_ERROR';

/** The error every public call throws for bad input or misuse; `code` says which kind. */
export class HybridError extends Error {
  readonly code: HybridErrorCode;
  /** The argument or config field the error is about, when there is one. */
  readonly argument: string | undefined;

  /**
   * `cause`: the error this one reports (IO_ERROR: the file system's own error, with its `code`
   * such as 'ENOENT').
   */
  constructor(code: HybridErrorCode, message: string, argument?: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HybridError';
    this.code = code;
    this.argument = argument;
  }
}

/** How a GPU call failed; the router counts failures by kind. */
export type GpuFailureKind =
  | 'device-lost'
  | 'out-of-memory'
  | 'validation'
  | 'internal'
  | 'timeout'
  | 'wrong-result';

/**
 * A GPU failure. On an `'auto'` call it never reaches the caller (the CPU answers); only a call
 * forced with `backend: 'gpu'` sees it.
 */
export class GpuError extends HybridError {
  readonly kind: GpuFailureKind;

  constructor(kind: GpuFailureKind, message: string) {
    super('GPU_FAILED', message);
    this.name = 'GpuError';
    this.kind = kind;
  }
}
