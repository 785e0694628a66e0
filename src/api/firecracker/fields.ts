// Strict, typed reading of one JSON object: the validator every request body
// and config-file section goes through. Like Firecracker's serde structs with
// deny_unknown_fields: a field that is not listed is an error, a field of the
// wrong type is an error, and an optional field may be absent or null.
// Errors are FieldErrors naming the field (with its path inside nested
// objects) and the value that was refused.

import { FieldError } from './errors.js';

/** Longest rendering of a refused value in an error message. */
const MAX_SHOWN_VALUE = 60;

/** `got ...` text for an error: the value as JSON, shortened. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return `an array (${shorten(JSON.stringify(value))})`;
  if (value !== null && typeof value === 'object') return `an object (${shorten(JSON.stringify(value))})`;
  return shorten(JSON.stringify(value));
}

function shorten(text: string): string {
  return text.length <= MAX_SHOWN_VALUE ? text : `${text.slice(0, MAX_SHOWN_VALUE - 3)}...`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** One JSON object being read; every accessor checks its field's type. */
export class Fields {
  private constructor(
    private readonly obj: Readonly<Record<string, unknown>>,
    /** Path of this object inside the body, with a trailing dot ('' at the top). */
    private readonly prefix: string,
  ) {}

  /**
   * Checks that `value` is a JSON object whose keys are all in `known`.
   * `where` names the object in errors (`body`, or the nested field's path).
   */
  static read(value: unknown, known: readonly string[], where = 'body', prefix = ''): Fields {
    if (!isObject(value)) throw new FieldError(where, `expected a JSON object, got ${describeValue(value)}`);
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) {
        throw new FieldError(`${prefix}${key}`, `unknown field; expected one of ${known.join(', ')}`);
      }
    }
    return new Fields(value, prefix);
  }

  private path(name: string): string {
    return `${this.prefix}${name}`;
  }

  /** The raw value; absent and null both read as undefined (serde's Option). */
  private value(name: string): unknown {
    const v = Object.prototype.hasOwnProperty.call(this.obj, name) ? this.obj[name] : undefined;
    return v === null ? undefined : v;
  }

  /** Whether the field is present with a non-null value. */
  has(name: string): boolean {
    return this.value(name) !== undefined;
  }

  /** Whether the object has no non-null field at all. */
  isEmpty(): boolean {
    return Object.keys(this.obj).every((k) => this.obj[k] === null);
  }

  private required<T>(name: string, read: (n: string) => T | undefined): T {
    const v = read.call(this, name);
    if (v === undefined) throw new FieldError(this.path(name), 'is required');
    return v;
  }

  optionalString(name: string): string | undefined {
    const v = this.value(name);
    if (v === undefined || typeof v === 'string') return v;
    throw new FieldError(this.path(name), `expected a string, got ${describeValue(v)}`);
  }

  string(name: string): string {
    return this.required(name, this.optionalString);
  }

  optionalBoolean(name: string): boolean | undefined {
    const v = this.value(name);
    if (v === undefined || typeof v === 'boolean') return v;
    throw new FieldError(this.path(name), `expected true or false, got ${describeValue(v)}`);
  }

  boolean(name: string): boolean {
    return this.required(name, this.optionalBoolean);
  }

  /** A whole number in [min, max]. */
  optionalInteger(name: string, min: number, max: number): number | undefined {
    const v = this.value(name);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
      throw new FieldError(this.path(name), `expected a whole number, got ${describeValue(v)}`);
    }
    if (v < min || v > max) throw new FieldError(this.path(name), `must be ${min} to ${max}, got ${v}`);
    return v;
  }

  integer(name: string, min: number, max: number): number {
    return this.required(name, (n) => this.optionalInteger(n, min, max));
  }

  /** One of `values` (case-sensitive, as serde's enums). */
  optionalEnum<T extends string>(name: string, values: readonly T[]): T | undefined {
    const v = this.value(name);
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      throw new FieldError(this.path(name), `expected one of ${values.join(', ')}, got ${describeValue(v)}`);
    }
    return v as T;
  }

  enum<T extends string>(name: string, values: readonly T[]): T {
    return this.required(name, (n) => this.optionalEnum(n, values));
  }

  /** A nested object with its own known fields, or undefined when absent/null. */
  optionalObject(name: string, known: readonly string[]): Fields | undefined {
    const v = this.value(name);
    if (v === undefined) return undefined;
    return Fields.read(v, known, this.path(name), `${this.path(name)}.`);
  }

  /**
   * A field Firecracker knows and tsvmm does not implement: accepted when
   * absent, null, or equal to one of `accepted` (the value that means "off");
   * anything else is refused, naming the field, the value and why.
   */
  unsupported(name: string, why: string, accepted: readonly unknown[] = []): void {
    const v = this.value(name);
    if (v === undefined || accepted.includes(v)) return;
    throw new FieldError(this.path(name), `${describeValue(v)} is not supported by tsvmm (${why})`);
  }
}
