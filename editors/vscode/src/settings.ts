// The mapping from VS Code's "am-lsp.*" settings and the secrets in SecretStorage to the settings
// object am-lsp receives (initializationOptions, the answer to workspace/configuration, and
// workspace/didChangeConfiguration). No `vscode` import: the glue passes a reader function.
//
// The object sent always carries EVERY server key, with the effective value. The server merges
// what it receives onto its current settings ("absent fields keep their current value"), so a key
// left out after the user removed it from settings.json would keep the old value; sending the
// default instead resets it. prometheusUrl and grafanaUrl default to "" in VS Code, which means
// "what the server would use": $AM_PROMETHEUS_URL else http://localhost:9090, and
// $AM_GRAFANA_URL else none (the server runs with the extension host's environment, so it is
// the same value the server would pick itself).

/** The workspace/configuration section the server asks for, and the VS Code settings prefix. */
export const SECTION = 'am-lsp';

/** The fallback of prometheusUrl when neither the setting nor AM_PROMETHEUS_URL names one. */
export const DEFAULT_PROMETHEUS_URL = 'http://localhost:9090';

/** The server's CodeLens template when none is set. */
export const DEFAULT_CODELENS_FORMAT = '{rate} · {errors} errors · p99 {p99}';

/** Settings of the server, exactly as it names them (flat JSON keys). */
export interface ServerSettings {
  prometheusUrl: string;
  grafanaUrl: string;
  grafanaDatasource: string;
  traceUrlTemplate: string;
  labelMatchers: string[];
  window: string;
  hoverDeadline: string;
  queryTimeout: string;
  cacheTtl: string;
  codeLens: boolean;
  codeLensFormat: string;
  inlayHints: boolean;
  hoverImages: boolean;
  burnRateThreshold: number;
  bearerToken: string;
  bearerTokenFile: string;
  username: string;
  password: string;
  headers: Record<string, string>;
  tlsCaFile: string;
  tlsInsecureSkipVerify: boolean;
  serviceName: string;
  spanMetrics: string;
}

export type ServerSettingKey = keyof ServerSettings;

/** The kind of JSON value a setting holds. */
export type SettingKind = 'string' | 'boolean' | 'number' | 'stringArray' | 'stringMap';

export interface SettingSpec {
  key: ServerSettingKey;
  kind: SettingKind;
  /** The default the extension declares in package.json (for secrets: what is sent when unset). */
  default: string | boolean | number | string[] | Record<string, string>;
  /** Kept in SecretStorage, never read from settings.json. */
  secret?: boolean;
  /** An empty (or blank) string means the default, as a cleared field in the Settings UI. */
  emptyMeansDefault?: boolean;
  /** For an empty string: the environment variable the server would fall back to. */
  env?: string;
  /** For an empty string with an empty env variable: the server's own default. */
  fallback?: string;
}

/** Every server setting, in the server's order. package.json declares each non-secret one. */
export const SERVER_SETTINGS: readonly SettingSpec[] = [
  { key: 'prometheusUrl', kind: 'string', default: '', env: 'AM_PROMETHEUS_URL', fallback: DEFAULT_PROMETHEUS_URL },
  { key: 'grafanaUrl', kind: 'string', default: '', env: 'AM_GRAFANA_URL', fallback: '' },
  { key: 'grafanaDatasource', kind: 'string', default: '' },
  { key: 'traceUrlTemplate', kind: 'string', default: '' },
  { key: 'labelMatchers', kind: 'stringArray', default: [] },
  { key: 'window', kind: 'string', default: '5m', emptyMeansDefault: true },
  { key: 'hoverDeadline', kind: 'string', default: '500ms', emptyMeansDefault: true },
  { key: 'queryTimeout', kind: 'string', default: '10s', emptyMeansDefault: true },
  { key: 'cacheTtl', kind: 'string', default: '30s', emptyMeansDefault: true },
  { key: 'codeLens', kind: 'boolean', default: true },
  { key: 'codeLensFormat', kind: 'string', default: DEFAULT_CODELENS_FORMAT, emptyMeansDefault: true },
  { key: 'inlayHints', kind: 'boolean', default: false },
  // VS Code renders Markdown images with data: URIs in hovers; the server's default is off.
  { key: 'hoverImages', kind: 'boolean', default: true },
  { key: 'burnRateThreshold', kind: 'number', default: 2 },
  { key: 'bearerToken', kind: 'string', default: '', secret: true },
  { key: 'bearerTokenFile', kind: 'string', default: '' },
  { key: 'username', kind: 'string', default: '' },
  { key: 'password', kind: 'string', default: '', secret: true },
  { key: 'headers', kind: 'stringMap', default: {} },
  { key: 'tlsCaFile', kind: 'string', default: '' },
  { key: 'tlsInsecureSkipVerify', kind: 'boolean', default: false },
  { key: 'serviceName', kind: 'string', default: '' },
  { key: 'spanMetrics', kind: 'string', default: '' },
];

/** The secrets, by server key, with the SecretStorage key each is stored under. */
export const SECRETS = {
  bearerToken: { storageKey: 'am-lsp.bearerToken', label: 'bearer token', title: 'Bearer Token' },
  password: { storageKey: 'am-lsp.password', label: 'password', title: 'Password' },
} as const;

export type SecretKey = keyof typeof SECRETS;

export const SECRET_KEYS: readonly SecretKey[] = ['bearerToken', 'password'];

/** Settings of the extension itself ("am-lsp." + key), never sent to the server. */
export const EXTENSION_SETTINGS: readonly string[] = ['serverPath', 'trace.server'];

/** The secrets' current values (undefined when not stored). */
export type SecretValues = Partial<Record<SecretKey, string | undefined>>;

/** Reads one "am-lsp.<key>" value as VS Code gives it (the package.json default when unset). */
export type ConfigReader = (key: string) => unknown;

export interface MappedSettings {
  settings: ServerSettings;
  /** Values of the wrong type, replaced by their default; each names its setting. */
  problems: string[];
}

/**
 * Builds the object the server receives from the VS Code settings (read), the secrets and the
 * environment the server runs with. Every server key is present; a value of the wrong JSON type
 * (possible when settings.json is edited by hand) is replaced by its default and reported, since
 * the server would otherwise reject the whole object. Values of the right type are sent as they
 * are: the server validates them (durations, URLs, minimums) and names the setting when one is
 * invalid.
 */
export function toServerSettings(
  read: ConfigReader,
  secrets: SecretValues,
  env: Readonly<Record<string, string | undefined>>,
): MappedSettings {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const spec of SERVER_SETTINGS) {
    if (spec.secret) {
      const v = secrets[spec.key as SecretKey];
      out[spec.key] = typeof v === 'string' ? v : '';
      continue;
    }
    out[spec.key] = readOne(spec, read(spec.key), env, problems);
  }
  return { settings: out as unknown as ServerSettings, problems };
}

function readOne(
  spec: SettingSpec,
  raw: unknown,
  env: Readonly<Record<string, string | undefined>>,
  problems: string[],
): unknown {
  const name = `${SECTION}.${spec.key}`;
  const fallback = (): unknown => {
    if (spec.env !== undefined) {
      const fromEnv = (env[spec.env] ?? '').trim();
      return fromEnv !== '' ? fromEnv : (spec.fallback ?? '');
    }
    return cloneDefault(spec.default);
  };
  const wrong = (expected: string): unknown => {
    const value = fallback();
    problems.push(`${name}: expected ${expected}, got ${describe(raw)}; using ${JSON.stringify(value)}`);
    return value;
  };
  if (raw === undefined || raw === null) {
    return fallback();
  }
  switch (spec.kind) {
    case 'string': {
      if (typeof raw !== 'string') {
        return wrong('a string');
      }
      const v = raw.trim();
      if (v === '' && (spec.emptyMeansDefault || spec.env !== undefined)) {
        return fallback();
      }
      // Durations and URLs are sent trimmed; a template keeps its spaces.
      return spec.key === 'codeLensFormat' ? raw : v;
    }
    case 'boolean':
      return typeof raw === 'boolean' ? raw : wrong('true or false');
    case 'number':
      return typeof raw === 'number' && Number.isFinite(raw) ? raw : wrong('a number');
    case 'stringArray': {
      if (!Array.isArray(raw) || !raw.every((x) => typeof x === 'string')) {
        return wrong('an array of strings');
      }
      return raw.map((x) => x.trim()).filter((x) => x !== '');
    }
    case 'stringMap': {
      if (typeof raw !== 'object' || Array.isArray(raw)) {
        return wrong('an object of strings');
      }
      const map: Record<string, string> = {};
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') {
          // Header values may be credentials: name the header, never the value.
          problems.push(`${name}: the value of header "${k}" is not a string; the header is not sent`);
          continue;
        }
        map[k] = v;
      }
      return map;
    }
  }
}

function cloneDefault(v: SettingSpec['default']): unknown {
  if (Array.isArray(v)) {
    return [...v];
  }
  if (typeof v === 'object') {
    return { ...v };
  }
  return v;
}

function describe(raw: unknown): string {
  if (Array.isArray(raw)) {
    return 'an array';
  }
  return raw === null ? 'null' : `a ${typeof raw}`;
}

/**
 * The secret keys found in settings.json ("am-lsp.bearerToken", "am-lsp.password"): they are
 * never read from there, and the user should move them to SecretStorage and delete them.
 */
export function misplacedSecrets(read: ConfigReader): SecretKey[] {
  return SECRET_KEYS.filter((k) => {
    const v = read(k);
    return v !== undefined && v !== null && v !== '';
  });
}

/** One item of a workspace/configuration request. */
export interface ConfigurationItem {
  section?: string | null;
  scopeUri?: string | null;
}

/**
 * Answers workspace/configuration: the "am-lsp" section is the mapped settings object (with the
 * secrets), "am-lsp.<key>" one of its values; other sections go to `other` (VS Code's default).
 */
export function answerConfiguration(
  items: readonly ConfigurationItem[],
  settings: ServerSettings,
  other: (item: ConfigurationItem, index: number) => unknown,
): unknown[] {
  return items.map((item, i) => {
    if (item.section === SECTION) {
      return settings;
    }
    if (typeof item.section === 'string' && item.section.startsWith(`${SECTION}.`)) {
      const key = item.section.slice(SECTION.length + 1);
      return Object.prototype.hasOwnProperty.call(settings, key) ? settings[key as ServerSettingKey] : null;
    }
    return other(item, i);
  });
}

/** The settings with the secrets replaced, for logs. */
export function redactSettings(settings: ServerSettings): ServerSettings {
  const copy: ServerSettings = { ...settings, headers: { ...settings.headers } };
  for (const k of SECRET_KEYS) {
    if (copy[k] !== '') {
      copy[k] = '<set>';
    }
  }
  for (const h of Object.keys(copy.headers)) {
    copy.headers[h] = '<set>';
  }
  copy.prometheusUrl = redactUrl(copy.prometheusUrl);
  copy.grafanaUrl = redactUrl(copy.grafanaUrl);
  return copy;
}

/**
 * raw without its userinfo, read as the server reads it (internal/credurl): everything between
 * "://" (or the start) and the last "@", since a password may hold "/", "?", "#" or "@" unencoded.
 */
export function redactUrl(raw: string): string {
  const scheme = raw.indexOf('://');
  const start = scheme >= 0 ? scheme + 3 : 0;
  const at = raw.lastIndexOf('@');
  return at >= start ? raw.slice(0, start) + raw.slice(at + 1) : raw;
}
