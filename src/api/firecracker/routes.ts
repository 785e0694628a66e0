// Method + path -> the operation asked for. Firecracker routes on the method
// and the first path segment (api_server/parsed_request.rs); so does this.
// Endpoints Firecracker has and tsvmm does not are named as unsupported;
// anything else is "Invalid request method and/or path", as in Firecracker.

export type Route =
  | { readonly kind: 'getInstanceInfo' }
  | { readonly kind: 'getVersion' }
  | { readonly kind: 'getMachineConfig' }
  | { readonly kind: 'putMachineConfig' }
  | { readonly kind: 'patchMachineConfig' }
  | { readonly kind: 'putBootSource' }
  | { readonly kind: 'putDrive'; readonly id: string }
  | { readonly kind: 'putNetworkInterface'; readonly id: string }
  | { readonly kind: 'putActions' }
  | { readonly kind: 'patchVm' }
  /** PUT /drives or /network-interfaces without the id segment. */
  | { readonly kind: 'missingId'; readonly resource: 'drive' | 'network interface' }
  /** A Firecracker endpoint tsvmm does not implement; `what` names the feature. */
  | { readonly kind: 'unsupported'; readonly what: string }
  | { readonly kind: 'invalid' };

/** The methods Firecracker's HTTP server accepts (micro_http Method). */
export const METHODS = ['GET', 'PUT', 'PATCH'] as const;
export type Method = (typeof METHODS)[number];

const ID = '{id}';
/** First segments whose second segment is a resource id. */
const ID_RESOURCES = new Set(['drives', 'network-interfaces', 'pmem']);

/**
 * Firecracker's endpoints (its OpenAPI `paths`, API 1.17) that tsvmm leaves
 * out, keyed by `METHOD /path` with ids as {id}, and the feature they need.
 */
const UNSUPPORTED: ReadonlyMap<string, string> = new Map([
  ['PUT /snapshot/create', 'snapshots'],
  ['PUT /snapshot/load', 'snapshots'],
  ['GET /balloon', 'the balloon device'],
  ['PUT /balloon', 'the balloon device'],
  ['PATCH /balloon', 'the balloon device'],
  ['GET /balloon/statistics', 'the balloon device'],
  ['PATCH /balloon/statistics', 'the balloon device'],
  ['PATCH /balloon/hinting/start', 'the balloon device'],
  ['GET /balloon/hinting/status', 'the balloon device'],
  ['PATCH /balloon/hinting/stop', 'the balloon device'],
  ['PUT /vsock', 'vsock devices'],
  ['GET /mmds', 'the microVM metadata service (MMDS)'],
  ['PUT /mmds', 'the microVM metadata service (MMDS)'],
  ['PATCH /mmds', 'the microVM metadata service (MMDS)'],
  ['PUT /mmds/config', 'the microVM metadata service (MMDS)'],
  ['PUT /logger', "Firecracker's logger (tsvmm writes its messages to stderr)"],
  ['PUT /metrics', 'a metrics file'],
  ['PUT /entropy', 'the entropy device'],
  ['PUT /cpu-config', 'custom CPU templates'],
  ['PUT /pmem/{id}', 'pmem devices'],
  ['PATCH /pmem/{id}', 'pmem devices'],
  ['PUT /serial', 'redirecting the serial console (it is the terminal tsvmm runs on)'],
  ['GET /hotplug/memory', 'memory hotplug'],
  ['PUT /hotplug/memory', 'memory hotplug'],
  ['PATCH /hotplug/memory', 'memory hotplug'],
  ['GET /vm/config', 'exporting the VM configuration (GET /vm/config)'],
  ['PATCH /drives/{id}', 'changing a drive after boot (PATCH /drives)'],
  ['PATCH /network-interfaces/{id}', 'changing a network interface after boot (PATCH /network-interfaces)'],
]);

/** The path's segments: leading slashes trimmed, one trailing slash ignored, no query string. */
export function pathSegments(path: string): string[] {
  const q = path.indexOf('?');
  const segments = (q >= 0 ? path.slice(0, q) : path).replace(/^\/+/, '').split('/');
  if (segments.length > 1 && segments[segments.length - 1] === '') segments.pop();
  return segments;
}

export function route(method: string, path: string): Route {
  const segments = pathSegments(path);
  const [first = '', second, ...rest] = segments;
  const one = segments.length === 1;
  switch (`${method} ${first}`) {
    case 'GET ':
      if (one) return { kind: 'getInstanceInfo' };
      break;
    case 'GET version':
      if (one) return { kind: 'getVersion' };
      break;
    case 'GET machine-config':
      if (one) return { kind: 'getMachineConfig' };
      break;
    case 'PUT machine-config':
      if (one) return { kind: 'putMachineConfig' };
      break;
    case 'PATCH machine-config':
      if (one) return { kind: 'patchMachineConfig' };
      break;
    case 'PUT boot-source':
      if (one) return { kind: 'putBootSource' };
      break;
    case 'PUT drives':
      if (one) return { kind: 'missingId', resource: 'drive' };
      if (rest.length === 0) return { kind: 'putDrive', id: second as string };
      break;
    case 'PUT network-interfaces':
      if (one) return { kind: 'missingId', resource: 'network interface' };
      if (rest.length === 0) return { kind: 'putNetworkInterface', id: second as string };
      break;
    case 'PUT actions':
      if (one) return { kind: 'putActions' };
      break;
    case 'PATCH vm':
      if (one) return { kind: 'patchVm' };
      break;
  }
  const shape = ID_RESOURCES.has(first) && second !== undefined ? [first, ID, ...rest] : segments;
  const what = UNSUPPORTED.get(`${method} /${shape.join('/')}`);
  return what !== undefined ? { kind: 'unsupported', what } : { kind: 'invalid' };
}
