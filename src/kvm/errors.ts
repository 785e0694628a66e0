// Named errors for KVM set-up problems, each carrying a message a user can act on.

export class KvmError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KvmError';
  }
}
