// The VMM process. Started by the library (api/process.ts; the CLI is one of
// its users) with an IPC channel: it waits for its VmConfig, builds and runs
// the VM, answers pause/resume/stop/metrics requests, and ends with one exit
// code. Its lines for the user ("tsvmm: ...") go to the fd its parent names
// in TSVMM_LOG_FD (the CLI's stderr or --log file, or a pipe the library
// reads), written from here directly so that they are kept off the guest's
// partial console lines (console/log_writer.ts); a failure is one such line
// and a non-zero exit (2 for a configuration this host cannot run).
//
// This entry starts vCPU 0's worker first (standby.ts), so that the worker's
// isolate and modules load beside this thread's, then loads the rest
// (run.ts).
import { prestartVcpuWorker } from './standby.js';

if (process.send !== undefined) prestartVcpuWorker();
await import('./run.js');
