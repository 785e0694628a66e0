// Reads a VM's console stream (the library's vm.console) until a pattern
// shows up; the timeout only bounds a failure, it never decides a pass.
import type { Readable } from 'node:stream';

export class ConsoleReader {
  text = '';
  constructor(stream: Readable) {
    stream.on('data', (d: Buffer) => (this.text += d.toString('latin1')));
  }

  /** Resolves once `pattern` matches the text after `from` (default: anywhere); rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs: number, from = 0): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      const check = (): void => {
        const m = pattern.exec(this.text.slice(from));
        if (m !== null) return resolve(m);
        if (Date.now() > deadline) return reject(new Error(`console: no ${pattern} within ${timeoutMs} ms; got ${JSON.stringify(this.text.slice(-500))}`));
        setTimeout(check, 20);
      };
      check();
    });
  }
}
