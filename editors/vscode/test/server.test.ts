// The contract with the real server: the settings object the extension builds is accepted by
// am-lsp as initializationOptions, as the workspace/configuration answer and as a pushed
// workspace/didChangeConfiguration; invalid values come back as window/showMessage naming the
// setting; am-lsp.status answers what the status bar reads; and the server offers nothing that
// would duplicate gopls. Runs against $AM_LSP_BIN (scripts/test-vscode builds it from this
// repository); skipped without it, a failure under CI=true.

import * as assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import {
  ConfigurationRequest,
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  InitializeRequest,
  type InitializeResult,
  InitializedNotification,
  type ProtocolConnection,
  ShowMessageNotification,
  ShutdownRequest,
  ExitNotification,
  StreamMessageReader,
  StreamMessageWriter,
  createProtocolConnection,
} from 'vscode-languageserver-protocol/node';

import { SERVER_COMMANDS } from '../src/commands';
import { type ServerSettings, answerConfiguration, toServerSettings } from '../src/settings';
import { parseStatus } from '../src/status';
import { manifestDefaults } from './helpers/manifest';

function serverBinary(): string | undefined {
  const bin = process.env['AM_LSP_BIN'];
  if (bin === undefined || bin === '') {
    return undefined;
  }
  assert.ok(fs.existsSync(bin), `AM_LSP_BIN=${bin} does not exist`);
  return bin;
}

const binary = serverBinary();
const required = process.env['CI'] === 'true';

/** A closed port on loopback: the server reports the backend unreachable, quickly. */
const UNREACHABLE = 'http://127.0.0.1:9';
/** Another closed port: settings that point here are told apart from UNREACHABLE's. */
const UNREACHABLE_TOO = 'http://127.0.0.1:7';

function settingsWith(user: Record<string, unknown>, secrets: { bearerToken?: string; password?: string } = {}): ServerSettings {
  const defaults = manifestDefaults();
  const read = (key: string): unknown => (key in user ? user[key] : defaults[key]);
  const { settings, problems } = toServerSettings(read, secrets, {});
  assert.deepEqual(problems, []);
  return settings;
}

/** Each test is skipped (and counted so) without a binary, unless CI=true requires it. */
const skip = binary === undefined && !required ? 'no am-lsp binary (set AM_LSP_BIN)' : false;

describe('against the am-lsp server', () => {
  let proc: ChildProcessWithoutNullStreams;
  let conn: ProtocolConnection | undefined;
  let init: InitializeResult;
  let stderr = '';
  const shown: string[] = [];
  const configurationAsked: unknown[] = [];
  let answer: ServerSettings;

  before(async () => {
    if (skip !== false) {
      return;
    }
    assert.ok(binary !== undefined, 'CI=true: the am-lsp binary is required (set AM_LSP_BIN)');
    proc = spawn(binary, ['serve', '--log-level', 'warn'], { stdio: 'pipe', env: { ...process.env, AM_PROMETHEUS_URL: '' } });
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const c = createProtocolConnection(new StreamMessageReader(proc.stdout), new StreamMessageWriter(proc.stdin));
    c.onNotification(ShowMessageNotification.type, (p) => shown.push(p.message));
    c.onRequest(ConfigurationRequest.type, (p) => {
      configurationAsked.push(p);
      return answerConfiguration(p.items, answer, () => null);
    });
    c.onRequest('window/workDoneProgress/create', () => null);
    c.onRequest('workspace/codeLens/refresh', () => null);
    c.onRequest('workspace/inlayHint/refresh', () => null);
    c.listen();
    conn = c;
    const initOptions = settingsWith({ prometheusUrl: UNREACHABLE });
    answer = settingsWith({ prometheusUrl: UNREACHABLE_TOO });
    init = await c.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- required by InitializeParams
      rootUri: null,
      workspaceFolders: null,
      capabilities: { workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true } } },
      initializationOptions: initOptions,
    });
    await c.sendNotification(InitializedNotification.type, {});
  });

  after(async () => {
    if (conn === undefined) {
      return;
    }
    try {
      await conn.sendRequest(ShutdownRequest.type, undefined);
      await conn.sendNotification(ExitNotification.type);
    } finally {
      conn.dispose();
      if (proc.exitCode === null) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            proc.kill();
            resolve();
          }, 3000);
          proc.on('exit', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    }
  });

  function rpc(): ProtocolConnection {
    assert.ok(conn !== undefined, 'the connection to am-lsp is up');
    return conn;
  }

  async function status() {
    const raw: unknown = await rpc().sendRequest(ExecuteCommandRequest.type, { command: SERVER_COMMANDS.status, arguments: [] });
    const s = parseStatus(raw);
    assert.ok(s !== undefined, `am-lsp.status answered ${JSON.stringify(raw)}`);
    return s;
  }

  /**
   * Asks am-lsp.status until the backend is `backend` (settings apply asynchronously), or 3 s pass.
   * This is the positive signal that a settings object was applied: the server shows a refusal
   * (window/showMessage) before it applies the rest, on the same stream as the status answer, so
   * once the new backend shows, every message about that object is already in `shown`.
   */
  async function statusOf(backend: string) {
    const deadline = Date.now() + 3000;
    let s = await status();
    while (s.backend !== backend && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      s = await status();
    }
    assert.equal(s.backend, backend, `messages: ${JSON.stringify(shown)}`);
    return s;
  }

  test('offers the commands the extension sends, and no feature gopls already provides', { skip }, () => {
    const commands = init.capabilities.executeCommandProvider?.commands ?? [];
    for (const c of [SERVER_COMMANDS.status, SERVER_COMMANDS.openGrafana, SERVER_COMMANDS.openExplore, SERVER_COMMANDS.openPrometheus]) {
      assert.ok(commands.includes(c), `${c} in ${JSON.stringify(commands)}`);
    }
    const caps = init.capabilities as Record<string, unknown>;
    for (const gopls of [
      'completionProvider',
      'documentFormattingProvider',
      'documentRangeFormattingProvider',
      'definitionProvider',
      'referencesProvider',
      'renameProvider',
      'signatureHelpProvider',
      'documentSymbolProvider',
      'semanticTokensProvider',
    ]) {
      assert.equal(caps[gopls], undefined, `${gopls} would duplicate gopls`);
    }
  });

  test('accepts the default settings object as initializationOptions and as the workspace/configuration answer', { skip }, async () => {
    // The initializationOptions point at UNREACHABLE, the configuration answer (set before the
    // initialized notification made the server ask) at UNREACHABLE_TOO: seeing the latter means
    // both were applied.
    await statusOf(UNREACHABLE_TOO);
    assert.ok(configurationAsked.length >= 1, 'the server pulled the am-lsp section');
    assert.deepEqual(shown, [], 'nothing was refused');
  });

  test('accepts a full pushed object (every key set, secrets included) and shows no secret', { skip }, async () => {
    const user = {
      prometheusUrl: 'http://127.0.0.1:9/prometheus/',
      grafanaUrl: 'http://127.0.0.1:3',
      grafanaDatasource: 'prom',
      traceUrlTemplate: 'https://tempo.example/trace/{traceId}',
      labelMatchers: ['env="prod"'],
      window: '10m',
      hoverDeadline: '250ms',
      queryTimeout: '2s',
      cacheTtl: '1m',
      codeLens: false,
      codeLensFormat: '{rate} {p95}',
      inlayHints: true,
      hoverImages: false,
      burnRateThreshold: 0,
      bearerTokenFile: '',
      username: 'alice',
      headers: { 'X-Scope-OrgID': 'team-a' },
      tlsCaFile: '',
      tlsInsecureSkipVerify: false,
      serviceName: 'checkout',
      spanMetrics: 'tempo',
    };
    // Basic auth, then a bearer token: the server takes one or the other, never both.
    for (const [name, settings] of [
      ['basic auth', settingsWith(user, { password: 'sekret-pass' })],
      ['bearer token', settingsWith({ ...user, username: '', prometheusUrl: 'http://127.0.0.1:9/' }, { bearerToken: 'sekret-token' })],
    ] as const) {
      answer = settings;
      await rpc().sendNotification(DidChangeConfigurationNotification.type, { settings });
      // No credentials, no trailing slash.
      const s = await statusOf(settings.prometheusUrl.replace(/\/$/, ''));
      assert.deepEqual(shown, [], `${name}: nothing was refused`);
      for (const secret of ['sekret-token', 'sekret-pass']) {
        assert.ok(!JSON.stringify(s).includes(secret) && !stderr.includes(secret), `${secret} leaked`);
      }
    }
  });

  test('an invalid value is refused with a message naming the setting; the defaults object then resets it', { skip }, async () => {
    // The other fields of the refused object apply (the backend moves to UNREACHABLE_TOO).
    answer = settingsWith({ prometheusUrl: UNREACHABLE_TOO, window: '5 minutes' });
    await rpc().sendNotification(DidChangeConfigurationNotification.type, { settings: answer });
    await statusOf(UNREACHABLE_TOO);
    assert.ok(
      shown.some((m) => m.includes('setting window')),
      `a message names "window": ${JSON.stringify(shown)}`,
    );
    shown.length = 0;
    answer = settingsWith({ prometheusUrl: UNREACHABLE });
    await rpc().sendNotification(DidChangeConfigurationNotification.type, { settings: answer });
    await statusOf(UNREACHABLE);
    assert.deepEqual(shown, [], 'the defaults object is accepted');
  });

  test('the pull model: an empty notification makes the server ask, and the middleware answer applies', { skip }, async () => {
    const before = configurationAsked.length;
    answer = settingsWith({ prometheusUrl: UNREACHABLE_TOO });
    await rpc().sendNotification(DidChangeConfigurationNotification.type, { settings: null });
    await statusOf(UNREACHABLE_TOO);
    assert.ok(configurationAsked.length > before);
  });
});
