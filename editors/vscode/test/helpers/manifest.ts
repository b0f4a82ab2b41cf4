// The extension's package.json, as the tests read it (from out/test/helpers, two levels up).

import * as fs from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '../../..');

export interface ConfigProperty {
  type?: string;
  default?: unknown;
  description?: string;
  markdownDescription?: string;
  scope?: string;
  pattern?: string;
  items?: { type?: string; pattern?: string };
  additionalProperties?: { type?: string };
  enum?: string[];
}

export interface Manifest {
  name: string;
  publisher: string;
  main: string;
  engines: { vscode: string };
  activationEvents: string[];
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  capabilities: { untrustedWorkspaces: { supported: string; restrictedConfigurations: string[] } };
  contributes: {
    commands: { command: string; title: string; category?: string }[];
    menus: { commandPalette: { command: string; when: string }[] };
    configuration: { title: string; properties: Record<string, ConfigProperty> };
  };
}

export function manifest(): Manifest {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Manifest;
}

/** The declared default of every "am-lsp.<key>" setting, by key. */
export function manifestDefaults(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, prop] of Object.entries(manifest().contributes.configuration.properties)) {
    out[name.replace(/^am-lsp\./, '')] = structuredClone(prop.default);
  }
  return out;
}
