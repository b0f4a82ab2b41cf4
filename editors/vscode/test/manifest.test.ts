import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';

import { EXTENSION_COMMANDS, SERVER_COMMANDS } from '../src/commands';
import { EXTENSION_SETTINGS, SECRET_KEYS, SERVER_SETTINGS } from '../src/settings';
import { ROOT, manifest } from './helpers/manifest';

const JSON_TYPE = { string: 'string', boolean: 'boolean', number: 'number', stringArray: 'array', stringMap: 'object' };

describe('package.json', () => {
  const m = manifest();
  const props = m.contributes.configuration.properties;

  test('settings: one am-lsp.<key> per non-secret server setting, plus the extension-only ones, nothing else', () => {
    const expected = [
      ...SERVER_SETTINGS.filter((s) => s.secret !== true).map((s) => `am-lsp.${s.key}`),
      ...EXTENSION_SETTINGS.map((k) => `am-lsp.${k}`),
    ].sort();
    assert.deepEqual(Object.keys(props).sort(), expected);
  });

  test('each server setting is declared with its type, default and a description', () => {
    for (const spec of SERVER_SETTINGS.filter((s) => s.secret !== true)) {
      const p = props[`am-lsp.${spec.key}`];
      assert.ok(p !== undefined, spec.key);
      assert.equal(p.type, JSON_TYPE[spec.kind], `${spec.key} type`);
      assert.deepEqual(p.default, spec.default, `${spec.key} default`);
      assert.ok((p.markdownDescription ?? p.description ?? '').length > 20, `${spec.key} needs a description`);
      assert.equal(p.scope, 'window', `${spec.key}: one server per window`);
    }
    assert.equal(props['am-lsp.labelMatchers']?.items?.type, 'string');
    assert.equal(props['am-lsp.headers']?.additionalProperties?.type, 'string');
  });

  test('no secret is a setting, and the descriptions point to the secret commands', () => {
    for (const k of SECRET_KEYS) {
      assert.equal(props[`am-lsp.${k}`], undefined, k);
    }
    assert.match(props['am-lsp.username']?.markdownDescription ?? '', /Set Password/);
    assert.match(props['am-lsp.bearerTokenFile']?.markdownDescription ?? '', /Set Bearer Token/);
  });

  test('duration and label matcher patterns accept what the server accepts', () => {
    const duration = new RegExp(props['am-lsp.window']?.pattern ?? '', 'u');
    for (const ok of ['5m', '500ms', '1m30s', '1.5h', '10s', '', '0', '2h45m0.5s', '300µs']) {
      assert.ok(duration.test(ok), `duration ${JSON.stringify(ok)}`);
    }
    for (const bad of ['5', '5 minutes', 'm', '-1m', '1d']) {
      assert.ok(!duration.test(bad), `not a duration ${JSON.stringify(bad)}`);
    }
    const matcher = new RegExp(props['am-lsp.labelMatchers']?.items?.pattern ?? '', 'u');
    for (const ok of ['env="prod"', 'cluster=~"eu-.*"', 'job != "x"', 'a!~"b\\"c"']) {
      assert.ok(matcher.test(ok), ok);
    }
    for (const bad of ['env=prod', '"prod"', 'env=="prod"']) {
      assert.ok(!matcher.test(bad), bad);
    }
    const url = new RegExp(props['am-lsp.prometheusUrl']?.pattern ?? '', 'u');
    assert.ok(url.test('https://prom.example.com/prometheus') && url.test(''));
    assert.ok(!url.test('prom:9090'));
  });

  test('commands: exactly the extension commands, under the am-lsp category, none clashing with a server command', () => {
    const contributed = m.contributes.commands.map((c) => c.command).sort();
    assert.deepEqual(contributed, Object.values(EXTENSION_COMMANDS).sort());
    for (const c of m.contributes.commands) {
      assert.equal(c.category, 'am-lsp', c.command);
      assert.ok(c.title.length > 0);
    }
    const server = new Set<string>(Object.values(SERVER_COMMANDS));
    for (const c of contributed) {
      assert.ok(!server.has(c), `${c} is registered by vscode-languageclient for the server`);
    }
    const goOnly = m.contributes.menus.commandPalette.filter((e) => e.when === 'editorLangId == go').map((e) => e.command);
    assert.deepEqual(goOnly.sort(), [
      EXTENSION_COMMANDS.openInExplore,
      EXTENSION_COMMANDS.openInGrafana,
      EXTENSION_COMMANDS.openInPrometheus,
      EXTENSION_COMMANDS.instrument,
      EXTENSION_COMMANDS.snapshot,
    ].sort());
  });

  test('activates on Go files, on VS Code versions vscode-languageclient 9 supports', () => {
    assert.deepEqual(m.activationEvents, ['onLanguage:go']);
    assert.match(m.dependencies['vscode-languageclient'] ?? '', /^\^9\./);
    assert.equal(m.engines.vscode, '^1.82.0');
    assert.equal(m.devDependencies['@types/vscode'], '1.82.0', '@types/vscode must not be newer than engines.vscode');
    assert.equal(m.main, './dist/extension.js');
    assert.ok(fs.existsSync(path.join(ROOT, m.main)), `${m.main} is built (npm run build)`);
  });

  test('Restricted Mode ignores workspace values that choose the program, where credentials go or where links point', () => {
    const restricted = m.capabilities.untrustedWorkspaces.restrictedConfigurations;
    for (const k of ['am-lsp.serverPath', 'am-lsp.prometheusUrl', 'am-lsp.grafanaUrl', 'am-lsp.traceUrlTemplate', 'am-lsp.headers', 'am-lsp.tlsInsecureSkipVerify']) {
      assert.ok(restricted.includes(k), k);
    }
    for (const k of restricted) {
      assert.ok(props[k] !== undefined, `${k} is a contributed setting`);
    }
  });
});
