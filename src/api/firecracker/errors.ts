// The errors of the Firecracker API layer: small named classes, each saying
// what failed with the value.
import { TsvmmError } from '../../base/errors.js';

/** HTTP status codes the API answers with (RFC 9110 section 15). */
export const HTTP_STATUS = {
  OK: 200,
  NO_CONTENT: 204,
  BAD_REQUEST: 400,
  PAYLOAD_TOO_LARGE: 413,
} as const;

export type HttpStatus = (typeof HTTP_STATUS)[keyof typeof HTTP_STATUS];

/**
 * A request the API refuses: becomes `{"fault_message": message}` with
 * `status` (400 unless said otherwise, as Firecracker answers).
 */
export class ApiError extends TsvmmError {
  constructor(
    message: string,
    readonly status: HttpStatus = HTTP_STATUS.BAD_REQUEST,
    options?: { cause: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A field of a request body (or of a config file section) that is missing,
 * of the wrong type, unknown, out of range or not supported by tsvmm.
 * `field` is the path inside the object checked (e.g. `rate_limiter`,
 * `bandwidth.size`); the caller adds where that object came from.
 */
export class FieldError extends ApiError {
  constructor(
    readonly field: string,
    readonly detail: string,
  ) {
    super(`${field}: ${detail}`);
  }
}

/** The API socket could not be created (its path exists, its directory is missing, ...). */
export class ApiSocketError extends TsvmmError {
  constructor(
    message: string,
    readonly path: string,
    /** errno name (e.g. "EADDRINUSE") where a system call failed. */
    readonly code?: string,
    options?: { cause: unknown },
  ) {
    super(message, options);
  }
}

/** A --config-file that cannot be read or does not describe a VM tsvmm can run. */
export class ConfigFileError extends TsvmmError {
  constructor(
    message: string,
    readonly file: string,
    options?: { cause: unknown },
  ) {
    super(message, options);
  }
}
