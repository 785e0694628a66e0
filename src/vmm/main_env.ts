// The environment variables a VMM process (main.ts) reads from its parent;
// apart from main.ts so the parent can name them without loading it.

/** The parent's pid: the VMM must not outlive it. */
export const PARENT_PID_ENV = 'TSVMM_PARENT_PID';
/** The fd the VMM writes its lines for the user to (the parent's stderr, a --log file, or a pipe). */
export const LOG_FD_ENV = 'TSVMM_LOG_FD';
