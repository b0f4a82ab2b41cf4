// The glue (src/extension.ts) against stand-ins of `vscode` and vscode-languageclient: what it
// starts, what the server receives, what each command sends and what it sets on screen. What a
// user then sees in VS Code (numbers, tooltip, quick fixes, palette, settings, Restricted Mode) is
// checked in a real VS Code by e2e/real-vscode.test.mjs (scripts/test-vscode-e2e).

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';

import { INSTRUMENT_WITH_SLO } from '../src/prompts';
import { SERVER_SETTINGS } from '../src/settings';
import { FakeUri, Host, loadExtension, settle } from './helpers/fakeHost';
import { manifest } from './helpers/manifest';

const ENV_KEYS = ['AM_PROMETHEUS_URL', 'AM_GRAFANA_URL', 'PATH', 'GOPATH', 'GOBIN', 'HOME'] as const;

let dir: string;
let exe: string;
let h: Host;
let ext: ReturnType<typeof loadExtension>;
const savedEnv: Partial<Record<string, string>> = {};

function makeExecutable(name: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  return file;
}

async function activate(): Promise<void> {
  ext = loadExtension(h);
  await ext.activate(h.context());
  await settle();
}

function goEditor(line = 4, character = 2) {
  return {
    document: { uri: new FakeUri('file:///w/main.go'), languageId: 'go' },
    selection: { active: { line, character } },
  };
}

function lastSettings(): Record<string, unknown> {
  const n = h.client.notifications.filter((x) => x.method === 'workspace/didChangeConfiguration').at(-1);
  assert.ok(n !== undefined, 'a workspace/didChangeConfiguration was sent');
  return (n.params as { settings: Record<string, unknown> }).settings;
}

function commandRequests(command: string) {
  return h.client.requests.filter((r) => r.method === 'workspace/executeCommand' && r.params.command === command);
}

beforeEach(() => {
  for (const k of ENV_KEYS) {
    savedEnv[k] = process.env[k];
  }
  delete process.env['AM_PROMETHEUS_URL'];
  delete process.env['AM_GRAFANA_URL'];
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'am-lsp-ext-'));
  exe = makeExecutable('am-lsp');
  h = new Host();
  h.config['serverPath'] = exe;
});

afterEach(async () => {
  await ext.deactivate();
  h.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
  for (const k of ENV_KEYS) {
    if (savedEnv[k] === undefined) {
      Reflect.deleteProperty(process.env, k);
    } else {
      process.env[k] = savedEnv[k];
    }
  }
});

describe('extension glue', () => {
  test('starts `am-lsp serve` from am-lsp.serverPath for Go files on disk, with settings and secrets as initializationOptions', async () => {
    h.config['window'] = '1m';
    h.secrets.set('am-lsp.bearerToken', 'tok');
    await activate();
    const c = h.client;
    assert.equal(c.id, 'am-lsp');
    assert.equal(c.serverOptions.command, exe);
    assert.deepEqual(c.serverOptions.args, ['serve']);
    assert.deepEqual(c.clientOptions.documentSelector, [{ scheme: 'file', language: 'go' }]);
    const init = c.clientOptions.initializationOptions;
    assert.deepEqual(Object.keys(init).sort(), SERVER_SETTINGS.map((s) => s.key).sort());
    assert.equal(init['window'], '1m');
    assert.equal(init['bearerToken'], 'tok');
    assert.equal(init['prometheusUrl'], 'http://localhost:9090');
    assert.ok(!('serverPath' in init), 'extension-only settings stay in the extension');
    assert.deepEqual(h.messages, []);
  });

  test('registers every command package.json contributes', async () => {
    await activate();
    for (const c of manifest().contributes.commands) {
      assert.ok(h.commands.has(c.command), c.command);
    }
  });

  test('status bar: asks am-lsp.status once running, and shows whether the backend answers', async () => {
    await activate();
    assert.equal(commandRequests('am-lsp.status').length >= 1, true);
    assert.equal(h.statusItem.text, '$(pulse) am-lsp');
    assert.equal(h.statusItem.shown, true);
    assert.equal(h.statusItem.command, 'am-lsp.showOutput');
    h.statusAnswer = { backend: 'http://localhost:9090', ok: false, reason: 'connection refused' };
    await h.run('am-lsp.checkBackendStatus');
    assert.equal(h.statusItem.text, '$(warning) am-lsp: Prometheus unreachable');
    assert.match(h.statusItem.tooltip, /connection refused/);
    assert.equal(h.statusItem.backgroundColor?.id, 'statusBarItem.warningBackground');
    h.client.crash();
    assert.equal(h.statusItem.text, '$(error) am-lsp: not running');
  });

  test('a CodeLens answer makes the status be asked again, so the tooltip follows the lens', async () => {
    await activate();
    const polls = commandRequests('am-lsp.status').length;
    const lenses = [{ command: { title: '4.25 req/s' } }];
    const got = await h.client.clientOptions.middleware.provideCodeLenses({}, undefined, () => lenses);
    assert.equal(got, lenses, 'the lenses pass through unchanged');
    await settle();
    assert.ok(commandRequests('am-lsp.status').length > polls);
  });

  test('workspace/configuration is answered by the middleware with the mapped settings and secrets', async () => {
    await activate();
    h.secrets.set('am-lsp.password', 'pw');
    h.config['username'] = 'alice';
    let nextCalls = 0;
    const answer = await h.client.clientOptions.middleware.workspace.configuration(
      { items: [{ section: 'am-lsp' }, { section: 'go' }] },
      undefined,
      () => {
        nextCalls++;
        return [{ from: 'vscode' }, { from: 'vscode-go' }];
      },
    );
    const mapped = answer[0] as Record<string, unknown>;
    assert.equal(mapped['password'], 'pw');
    assert.equal(mapped['username'], 'alice');
    assert.equal(mapped['codeLens'], true);
    assert.deepEqual(answer[1], { from: 'vscode-go' });
    assert.equal(nextCalls, 1);
    const only = await h.client.clientOptions.middleware.workspace.configuration({ items: [{ section: 'am-lsp' }] }, undefined, () => {
      throw new Error('VS Code is not asked for the am-lsp section');
    });
    assert.equal((only[0] as Record<string, unknown>)['password'], 'pw');
  });

  test('a settings change pushes the whole object, and the status is asked again', async () => {
    await activate();
    const polls = commandRequests('am-lsp.status').length;
    h.setConfig({ window: '10m', headers: { 'X-Scope-OrgID': 'team-a' } });
    await settle();
    const s = lastSettings();
    assert.equal(s['window'], '10m');
    assert.deepEqual(s['headers'], { 'X-Scope-OrgID': 'team-a' });
    assert.deepEqual(Object.keys(s).sort(), SERVER_SETTINGS.map((x) => x.key).sort());
    assert.ok(commandRequests('am-lsp.status').length > polls);
    h.setConfig({ window: undefined });
    await settle();
    assert.equal(lastSettings()['window'], '5m', 'a removed setting is reset on the server');
  });

  test('a wrong-typed value is warned about once, by name', async () => {
    h.config['codeLens'] = 'yes';
    await activate();
    h.setConfig({ window: '2m' });
    await settle();
    const warnings = h.messages.filter((m) => m.level === 'warning');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]?.text ?? '', /^am-lsp: am-lsp\.codeLens: expected true or false/);
  });

  test('Set Bearer Token / Set Password keep the secret in SecretStorage and send it; Clear Secrets empties both', async () => {
    await activate();
    h.inputAnswers = [' tok2 ', 'pw2'];
    await h.run('am-lsp.setBearerToken');
    await h.run('am-lsp.setPassword');
    await settle();
    assert.equal(h.secrets.get('am-lsp.bearerToken'), 'tok2');
    assert.equal(h.secrets.get('am-lsp.password'), 'pw2');
    assert.ok(h.inputOptions.every((o) => o.password === true));
    assert.equal(lastSettings()['bearerToken'], 'tok2');
    assert.equal(lastSettings()['password'], 'pw2');
    assert.ok(!('bearerToken' in h.config) && !('password' in h.config), 'nothing is written to settings');
    await h.run('am-lsp.clearSecrets');
    await settle();
    assert.equal(h.secrets.size, 0);
    assert.equal(lastSettings()['bearerToken'], '');
    assert.equal(lastSettings()['password'], '');
  });

  test('a secret found in settings.json is not sent, and a warning offers the secret command', async () => {
    h.config['bearerToken'] = 'oops';
    h.messageChoice = (m) => (m.items.includes('Set Bearer Token') ? 'Set Bearer Token' : undefined);
    h.inputAnswers = [undefined];
    await activate();
    assert.equal(h.client.clientOptions.initializationOptions['bearerToken'], '');
    const w = h.messages.find((m) => m.level === 'warning');
    assert.match(w?.text ?? '', /am-lsp\.bearerToken is in settings\.json/);
    assert.ok(h.executed.some((e) => e.id === 'am-lsp.setBearerToken'));
  });

  test('an unusable secret storage is logged, and the server starts without the secrets', async () => {
    h.secretsBroken = true;
    await activate();
    assert.equal(h.client.isRunning(), true);
    assert.equal(h.client.clientOptions.initializationOptions['bearerToken'], '');
    assert.ok(h.outputLines.some((l) => l.includes('Could not read the bearer token') && l.includes('no keyring')));
  });

  test('binary not found: an error naming the setting, whose button opens it; the status says not running', async () => {
    h.config['serverPath'] = '';
    process.env['PATH'] = path.join(dir, 'empty');
    process.env['GOPATH'] = path.join(dir, 'gopath');
    process.env['GOBIN'] = '';
    process.env['HOME'] = dir;
    h.messageChoice = (m) => (m.items.includes('Open Setting') ? 'Open Setting' : undefined);
    await activate();
    assert.equal(h.clients.length, 0);
    const e = h.messages.find((m) => m.level === 'error');
    assert.match(e?.text ?? '', /^am-lsp: The am-lsp server was not found: am-lsp\.serverPath is not set/);
    assert.match(e?.text ?? '', /go install github\.com\/am-lsp\/am-lsp\/cmd\/am-lsp@latest/);
    assert.deepEqual(e?.items, ['Open Setting', 'Show Output']);
    assert.deepEqual(h.executed.find((x) => x.id === 'workbench.action.openSettings')?.args, ['am-lsp.serverPath']);
    assert.equal(h.statusItem.text, '$(error) am-lsp: not running');
  });

  test('found on PATH when am-lsp.serverPath is empty', async () => {
    h.config['serverPath'] = '';
    process.env['PATH'] = dir;
    await activate();
    assert.equal(h.client.serverOptions.command, exe);
  });

  test('a server that fails to start: an error with the reason and the buttons', async () => {
    h.startError = 'spawn EACCES';
    h.messageChoice = (m) => (m.items.includes('Show Output') ? 'Show Output' : undefined);
    await activate();
    const e = h.messages.find((m) => m.level === 'error');
    assert.equal(e?.text, `am-lsp: The am-lsp server (${exe}) failed to start: spawn EACCES`);
    assert.deepEqual(e.items, ['Open Setting', 'Show Output']);
    assert.ok(h.executed.some((x) => x.id === '<output.show>'));
    assert.equal(h.statusItem.text, '$(error) am-lsp: not running');
  });

  test('changing am-lsp.serverPath restarts the server with the new binary; Restart Server starts a new one', async () => {
    await activate();
    const other = makeExecutable('am-lsp-dev');
    h.setConfig({ serverPath: other });
    await settle();
    assert.equal(h.clients.length, 2);
    assert.equal(h.clients[0]?.disposed, true);
    assert.equal(h.client.serverOptions.command, other);
    assert.equal(h.client.isRunning(), true);
    await h.run('am-lsp.restartServer');
    assert.equal(h.clients.length, 3);
    assert.equal(h.clients[1]?.disposed, true);
    assert.equal(h.statusItem.text, '$(pulse) am-lsp');
  });

  test('Open Function in Grafana / Explore / Prometheus send the server command with the cursor', async () => {
    await activate();
    h.activeTextEditor = goEditor(4, 2);
    await h.run('am-lsp.openFunctionInGrafana');
    await h.run('am-lsp.openFunctionInExplore');
    await h.run('am-lsp.openFunctionInPrometheus');
    const arg = { uri: 'file:///w/main.go', position: { line: 4, character: 2 } };
    for (const cmd of ['am-lsp.openGrafana', 'am-lsp.openExplore', 'am-lsp.openPrometheus']) {
      assert.deepEqual(commandRequests(cmd).map((r) => r.params.arguments), [[arg]], cmd);
    }
    assert.deepEqual(h.messages, []);
  });

  test("the server's refusal is shown; outside a Go file nothing is sent", async () => {
    await activate();
    h.activeTextEditor = goEditor();
    h.commandError = 'no instrumented function at file:///w/main.go:5:3';
    await h.run('am-lsp.openFunctionInPrometheus');
    assert.equal(
      h.messages.at(-1)?.text,
      'am-lsp: could not open the function in Prometheus: no instrumented function at file:///w/main.go:5:3',
    );
    const sent = h.client.requests.length;
    h.activeTextEditor = { ...goEditor(), document: { uri: new FakeUri('file:///w/README.md'), languageId: 'markdown' } };
    await h.run('am-lsp.openFunctionInGrafana');
    h.activeTextEditor = undefined;
    await h.run('am-lsp.instrumentFunction');
    assert.equal(h.client.requests.length, sent);
    assert.match(h.messages.at(-1)?.text ?? '', /Go file/);
  });

  test('Instrument Function: prompts, then am-lsp.instrument with the cursor and the SLO; Escape sends nothing', async () => {
    await activate();
    h.activeTextEditor = goEditor(10, 5);
    h.quickPickAnswers = [INSTRUMENT_WITH_SLO, '99.9 %', '99 %', '250 ms'];
    h.inputAnswers = ['Checkout'];
    await h.run('am-lsp.instrumentFunction');
    assert.deepEqual(commandRequests('am-lsp.instrument').map((r) => r.params.arguments), [
      [
        {
          uri: 'file:///w/main.go',
          position: { line: 10, character: 5 },
          slo: { name: 'Checkout', successTarget: 99.9, latencyMs: 250, latencyTarget: 99 },
        },
      ],
    ]);
    h.quickPickAnswers = [undefined];
    await h.run('am-lsp.instrumentFunction');
    assert.equal(commandRequests('am-lsp.instrument').length, 1);
    assert.deepEqual(h.messages, []);
  });

  test('deactivate stops the server', async () => {
    await activate();
    const c = h.client;
    await ext.deactivate();
    assert.equal(c.disposed, true);
  });
});
