// Named errors for KVM set-up problems, each carrying a message a user can act on.
import { TsvmmError } from '../base/errors.js';

export class KvmError extends TsvmmError {}
