// Test helper: stands in for the VMM child process of a sealed API
// supervisor (seal_child.ts). It waits for its VmConfig over the IPC channel,
// as the real VMM child will, and answers every request with an
// acknowledgement that carries what it received. It never exits on its own:
// the supervisor kills it.

import type { VmConfig } from '../../vmm/config.js';

export type StubRequest =
  | { readonly kind: 'start'; readonly config: VmConfig }
  | { readonly kind: 'pause' | 'resume' | 'sendCtrlAltDel' | 'flushMetrics' };

export interface StubReply {
  readonly kind: 'ack';
  readonly request: StubRequest;
  /** Error text for an operation the stub was told to refuse. */
  readonly error?: string;
}

/** The stub refuses SendCtrlAltDel with this line, as an arm64 VMM would. */
export const STUB_CTRL_ALT_DEL_ERROR = 'this guest has no i8042 keyboard controller to receive Ctrl-Alt-Del';

if (process.send !== undefined) {
  const send = process.send.bind(process);
  process.on('message', (request: StubRequest) => {
    const reply: StubReply =
      request.kind === 'sendCtrlAltDel' ? { kind: 'ack', request, error: STUB_CTRL_ALT_DEL_ERROR } : { kind: 'ack', request };
    send(reply);
  });
  process.stderr.write('stub vmm: waiting for its config\n');
  send({ kind: 'ready' });
}
