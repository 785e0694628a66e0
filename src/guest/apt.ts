// Reading apt's answers: `apt-cache show` stanzas and .deb file names.
//
// Source: deb-control(5) (RFC 822-style "Field: value" stanzas, continuation
// lines start with a space) and apt-get(8) `download`, which names the file
// <package>_<version>_<arch>.deb with ':' in the version written as "%3a".
import { TsvmmError } from '../base/errors.js';

/** `apt-cache show` printed nothing usable for a package. */
export class AptPackageError extends TsvmmError {
  constructor(
    readonly pkg: string,
    reason: string,
  ) {
    super(`apt package ${pkg}: ${reason}`);
  }
}

/** The fields of the first stanza of control-file text (field names as written). */
export function parseControlStanza(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let last: string | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (out.size > 0) break;
      continue;
    }
    if ((line.startsWith(' ') || line.startsWith('\t')) && last !== undefined) {
      out.set(last, `${out.get(last) ?? ''}\n${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon);
    out.set(last, line.slice(colon + 1).trim());
  }
  return out;
}

/** Package names in a Depends field, alternatives and version constraints dropped: "a (= 1), b | c" -> ["a", "b"]. */
export function dependsNames(field: string): string[] {
  return field
    .split(',')
    .map((d) => (d.split('|')[0] ?? '').trim().split(/[\s(:]/)[0] ?? '')
    .filter((n) => n !== '');
}

export interface AptPackage {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  readonly depends: readonly string[];
}

/** The package that `apt-cache show --no-all-versions NAME` describes. */
export function parseAptShow(pkg: string, text: string): AptPackage {
  return packageFrom(pkg, parseControlStanza(text));
}

/**
 * The packages `apt-cache show --no-all-versions A B ...` describes, by the
 * name asked for (the first matching stanza of each). A name may carry an
 * architecture qualifier ("busybox-static:arm64", as apt takes it); one
 * without is the native architecture's (`nativeArch`) or an "all" package.
 * Throws AptPackageError for a name in `wanted` that has no stanza.
 */
export function parseAptShowAll(wanted: readonly string[], text: string, nativeArch = 'amd64'): Map<string, AptPackage> {
  const stanzas = new Map<string, Map<string, string>>();
  for (const chunk of text.split(/\n\s*\n/)) {
    const f = parseControlStanza(chunk);
    const name = f.get('Package');
    const arch = f.get('Architecture');
    if (name === undefined || arch === undefined) continue;
    const key = `${name}:${arch === 'all' ? 'all' : arch}`;
    if (!stanzas.has(key)) stanzas.set(key, f);
  }
  return new Map(
    wanted.map((w) => {
      const [name, arch = nativeArch] = w.split(':') as [string, string | undefined];
      const f = stanzas.get(`${name}:${arch}`) ?? stanzas.get(`${name}:all`) ?? new Map<string, string>();
      return [w, packageFrom(name, f)];
    }),
  );
}

function packageFrom(pkg: string, f: ReadonlyMap<string, string>): AptPackage {
  const version = f.get('Version');
  const architecture = f.get('Architecture');
  if (f.get('Package') !== pkg || version === undefined || architecture === undefined) {
    throw new AptPackageError(pkg, 'apt-cache show gave no Package/Version/Architecture for it (is it known to apt? try apt-get update)');
  }
  return { name: pkg, version, architecture, depends: dependsNames(f.get('Depends') ?? '') };
}

/** The file name `apt-get download` gives a package. */
export function debFileName(p: Pick<AptPackage, 'name' | 'version' | 'architecture'>): string {
  return `${p.name}_${p.version.replaceAll(':', '%3a')}_${p.architecture}.deb`;
}
