// The environment variable a VMM process (main.ts) reads its parent's pid
// from; apart from main.ts so the parent can name it without loading it.
export const PARENT_PID_ENV = 'TSVMM_PARENT_PID';
