// What the VMM's main thread asks of each vCPU thread (run, pause, stop) and
// what each answers, in two Int32 words per vCPU of one SharedArrayBuffer.
// The main thread writes a request and kicks the thread (kick.ts); the vCPU
// thread looks at its request after every exit (checkpoint) and acknowledges
// in its state word, which the main thread waits on.

export const VCPU_REQUEST = { RUN: 0, PAUSE: 1, STOP: 2 } as const;
export const VCPU_STATE = { RUNNING: 0, PAUSED: 1, STOPPED: 2 } as const;
export type VcpuRequest = (typeof VCPU_REQUEST)[keyof typeof VCPU_REQUEST];
export type VcpuState = (typeof VCPU_STATE)[keyof typeof VCPU_STATE];

const WORDS = 2;
const REQUEST = 0;
const STATE = 1;

export class VcpuControl {
  readonly words: Int32Array;

  constructor(
    readonly count: number,
    buffer: SharedArrayBuffer = new SharedArrayBuffer(4 * WORDS * count),
  ) {
    this.words = new Int32Array(buffer);
    if (this.words.length < WORDS * count) throw new RangeError(`vCPU control buffer too small for ${count} vCPUs`);
  }

  get buffer(): SharedArrayBuffer {
    return this.words.buffer as SharedArrayBuffer;
  }

  /** Main thread: asks every vCPU for `request` (the caller kicks them). STOP is final. */
  requestAll(request: VcpuRequest): void {
    for (let i = 0; i < this.count; i++) {
      if (Atomics.load(this.words, i * WORDS + REQUEST) === VCPU_REQUEST.STOP) continue;
      Atomics.store(this.words, i * WORDS + REQUEST, request);
      Atomics.notify(this.words, i * WORDS + REQUEST);
    }
  }

  request(i: number): VcpuRequest {
    return Atomics.load(this.words, i * WORDS + REQUEST) as VcpuRequest;
  }

  state(i: number): VcpuState {
    return Atomics.load(this.words, i * WORDS + STATE) as VcpuState;
  }

  /** vCPU thread `i`: records its state and wakes whoever waits for it. */
  report(i: number, state: VcpuState): void {
    Atomics.store(this.words, i * WORDS + STATE, state);
    Atomics.notify(this.words, i * WORDS + STATE);
  }

  /**
   * vCPU thread `i`, after each exit: RUN returns false at once; PAUSE
   * reports PAUSED and blocks until the request changes; STOP reports
   * STOPPED and returns true (leave the run loop).
   */
  checkpoint(i: number): boolean {
    const w = this.words;
    for (;;) {
      const r = Atomics.load(w, i * WORDS + REQUEST);
      if (r === VCPU_REQUEST.RUN) {
        if (Atomics.load(w, i * WORDS + STATE) !== VCPU_STATE.RUNNING) this.report(i, VCPU_STATE.RUNNING);
        return false;
      }
      if (r === VCPU_REQUEST.STOP) {
        this.report(i, VCPU_STATE.STOPPED);
        return true;
      }
      this.report(i, VCPU_STATE.PAUSED);
      Atomics.wait(w, i * WORDS + REQUEST, r);
    }
  }

  /** Main thread: resolves true once every vCPU reports `state` (STOPPED counts for any), false after `timeoutMs`. */
  async waitAll(state: VcpuState, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; i < this.count; i++) {
      for (;;) {
        const s = this.state(i);
        if (s === state || s === VCPU_STATE.STOPPED) break;
        const left = deadline - Date.now();
        if (left <= 0) return false;
        await waitWhile(this.words, i * WORDS + STATE, s, left);
      }
    }
    return true;
  }

  /** The vCPUs not (yet) in `state`. */
  laggards(state: VcpuState): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.count; i++) if (this.state(i) !== state && this.state(i) !== VCPU_STATE.STOPPED) out.push(i);
    return out;
  }
}

/**
 * Resolves once words[index] is no longer `value`, or after `timeoutMs`.
 * Atomics.waitAsync's promise does not keep Node's event loop alive; the
 * timer raced against it does.
 */
export async function waitWhile(words: Int32Array, index: number, value: number, timeoutMs: number): Promise<void> {
  const r = Atomics.waitAsync(words, index, value, timeoutMs);
  if (!r.async) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([r.value, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
}
