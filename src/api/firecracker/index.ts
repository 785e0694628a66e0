// Firecracker-compatible control plane for tsvmm: `--api-sock PATH` (the REST
// API on a Unix socket) and `--config-file FILE`. Both produce a VmConfig
// through the same validators; neither touches KVM: the CLI passes a
// VmController that boots the VM.

export { startApiServer, tsvmmVersion, DEFAULT_MAX_PAYLOAD, DEFAULT_BODY_TIMEOUT_MS, DEFAULT_INSTANCE_ID, SOCKET_MODE } from './server.js';
export type { ApiServer, ApiServerOptions } from './server.js';
export { loadConfigFile, parseConfigFile } from './config_file.js';
export type { ConfigFileOptions } from './config_file.js';
export type { InstanceState, VmController } from './controller.js';
export { ApiError, ApiSocketError, ConfigFileError, FieldError } from './errors.js';
