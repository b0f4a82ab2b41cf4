import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';

import {
  type ConfigReader,
  DEFAULT_CODELENS_FORMAT,
  SERVER_SETTINGS,
  type ServerSettings,
  answerConfiguration,
  misplacedSecrets,
  redactSettings,
  redactUrl,
  toServerSettings,
} from '../src/settings';
import { manifestDefaults } from './helpers/manifest';

/** VS Code's config.get: the user's value, else the package.json default. */
function reader(user: Record<string, unknown> = {}): ConfigReader {
  const defaults = manifestDefaults();
  return (key) => (key in user ? user[key] : defaults[key]);
}

const DEFAULTS: ServerSettings = {
  prometheusUrl: 'http://localhost:9090',
  grafanaUrl: '',
  grafanaDatasource: '',
  traceUrlTemplate: '',
  labelMatchers: [],
  window: '5m',
  hoverDeadline: '500ms',
  queryTimeout: '10s',
  cacheTtl: '30s',
  codeLens: true,
  codeLensFormat: DEFAULT_CODELENS_FORMAT,
  inlayHints: false,
  hoverImages: true, // the extension's own default: VS Code renders the charts (the server's is off)
  burnRateThreshold: 2,
  bearerToken: '',
  bearerTokenFile: '',
  username: '',
  password: '',
  headers: {},
  tlsCaFile: '',
  tlsInsecureSkipVerify: false,
  serviceName: '',
  spanMetrics: '',
};

describe('settings mapping', () => {
  test('nothing set: every server key is sent with the server default', () => {
    const { settings, problems } = toServerSettings(reader(), {}, {});
    assert.deepEqual(settings, DEFAULTS);
    assert.deepEqual(problems, []);
  });

  test('every server setting maps one-to-one from am-lsp.<same key>', () => {
    const user: Record<string, unknown> = {
      prometheusUrl: 'https://prom.example.com/prometheus',
      grafanaUrl: 'https://grafana.example.com',
      grafanaDatasource: 'prom-uid',
      traceUrlTemplate: 'https://tempo.example/trace/{traceId}',
      labelMatchers: ['env="prod"', 'cluster=~"eu-.*"'],
      window: '10m',
      hoverDeadline: '250ms',
      queryTimeout: '3s',
      cacheTtl: '1m',
      codeLens: false,
      codeLensFormat: '{rate} | {p95}',
      inlayHints: true,
      hoverImages: false,
      burnRateThreshold: 0,
      bearerTokenFile: '/var/run/token',
      username: 'alice',
      headers: { 'X-Scope-OrgID': 'team-a' },
      tlsCaFile: '/etc/ca.pem',
      tlsInsecureSkipVerify: true,
      serviceName: 'checkout',
      spanMetrics: 'collector',
    };
    const { settings, problems } = toServerSettings(reader(user), { bearerToken: 'tok', password: 'pw' }, {});
    assert.deepEqual(problems, []);
    assert.deepEqual(settings, { ...user, bearerToken: 'tok', password: 'pw' });
    assert.deepEqual(Object.keys(settings).sort(), SERVER_SETTINGS.map((s) => s.key).sort());
  });

  test('prometheusUrl and grafanaUrl left empty fall back like the server: environment, then default', () => {
    const env = { AM_PROMETHEUS_URL: ' http://vm:8428 ', AM_GRAFANA_URL: 'http://grafana:3000' };
    const fromEnv = toServerSettings(reader(), {}, env).settings;
    assert.equal(fromEnv.prometheusUrl, 'http://vm:8428');
    assert.equal(fromEnv.grafanaUrl, 'http://grafana:3000');
    const blank = toServerSettings(reader({ prometheusUrl: '  ', grafanaUrl: '' }), {}, { AM_PROMETHEUS_URL: '' }).settings;
    assert.equal(blank.prometheusUrl, 'http://localhost:9090');
    assert.equal(blank.grafanaUrl, '');
    const set = toServerSettings(reader({ prometheusUrl: 'http://p:9090 ' }), {}, env).settings;
    assert.equal(set.prometheusUrl, 'http://p:9090', 'the setting wins over the environment, trimmed');
  });

  test('secrets come only from SecretStorage, and an unset secret is sent as "" so that clearing it reaches the server', () => {
    const read = reader({ bearerToken: 'from-settings-json', password: 'from-settings-json' });
    const { settings } = toServerSettings(read, {}, {});
    assert.equal(settings.bearerToken, '');
    assert.equal(settings.password, '');
    assert.deepEqual(misplacedSecrets(read), ['bearerToken', 'password']);
    assert.deepEqual(misplacedSecrets(reader()), []);
    const stored = toServerSettings(reader(), { bearerToken: 'abc', password: undefined }, {}).settings;
    assert.equal(stored.bearerToken, 'abc');
    assert.equal(stored.password, '');
  });

  test('a cleared duration or template means the default; a template keeps its spaces', () => {
    const { settings, problems } = toServerSettings(
      reader({ window: '', hoverDeadline: ' ', queryTimeout: ' 2s ', cacheTtl: '', codeLensFormat: '   ' }),
      {},
      {},
    );
    assert.deepEqual(problems, []);
    assert.equal(settings.window, '5m');
    assert.equal(settings.hoverDeadline, '500ms');
    assert.equal(settings.queryTimeout, '2s');
    assert.equal(settings.cacheTtl, '30s');
    assert.equal(settings.codeLensFormat, DEFAULT_CODELENS_FORMAT);
    assert.equal(toServerSettings(reader({ codeLensFormat: ' {rate} ' }), {}, {}).settings.codeLensFormat, ' {rate} ');
  });

  test('values of the right type are passed through for the server to validate by name', () => {
    const { settings, problems } = toServerSettings(reader({ window: '5 minutes', burnRateThreshold: -1 }), {}, {});
    assert.deepEqual(problems, []);
    assert.equal(settings.window, '5 minutes');
    assert.equal(settings.burnRateThreshold, -1);
  });

  test('a value of the wrong JSON type is replaced by its default and reported by setting name', () => {
    const { settings, problems } = toServerSettings(
      reader({
        window: 5,
        codeLens: 'yes',
        burnRateThreshold: '2',
        labelMatchers: 'env="prod"',
        headers: ['X'],
        prometheusUrl: 42,
      }),
      {},
      { AM_PROMETHEUS_URL: 'http://env:9090' },
    );
    assert.equal(settings.window, '5m');
    assert.equal(settings.codeLens, true);
    assert.equal(settings.burnRateThreshold, 2);
    assert.deepEqual(settings.labelMatchers, []);
    assert.deepEqual(settings.headers, {});
    assert.equal(settings.prometheusUrl, 'http://env:9090');
    assert.deepEqual(
      problems.map((p) => p.split(':')[0]),
      ['am-lsp.prometheusUrl', 'am-lsp.labelMatchers', 'am-lsp.window', 'am-lsp.codeLens', 'am-lsp.burnRateThreshold', 'am-lsp.headers'],
    );
    assert.match(problems[2] ?? '', /expected a string, got a number; using "5m"/);
    assert.equal(
      toServerSettings(reader({ burnRateThreshold: Number.NaN }), {}, {}).problems.length,
      1,
      'NaN is not a number JSON can carry',
    );
  });

  test('header values that are not strings are dropped without showing the value', () => {
    const { settings, problems } = toServerSettings(
      reader({ headers: { 'X-Scope-OrgID': 'a', Authorization: { secret: 's3cr3t' } } }),
      {},
      {},
    );
    assert.deepEqual(settings.headers, { 'X-Scope-OrgID': 'a' });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /Authorization/);
    assert.doesNotMatch(problems[0] ?? '', /s3cr3t/);
  });

  test('blank label matchers are dropped and the others trimmed', () => {
    const { settings } = toServerSettings(reader({ labelMatchers: [' env="prod" ', '', '  '] }), {}, {});
    assert.deepEqual(settings.labelMatchers, ['env="prod"']);
  });

  test('a setting removed from settings.json is sent at its default again (the server merges what it gets)', () => {
    const before = toServerSettings(reader({ window: '1h', headers: { A: 'b' } }), { bearerToken: 't' }, {}).settings;
    const after = toServerSettings(reader(), {}, {}).settings;
    assert.equal(before.window, '1h');
    assert.deepEqual(after, DEFAULTS);
  });

  test('the mapped object is not shared with the defaults table', () => {
    const a = toServerSettings(reader(), {}, {}).settings;
    a.labelMatchers.push('x="y"');
    a.headers['X'] = 'y';
    assert.deepEqual(toServerSettings(reader(), {}, {}).settings, DEFAULTS);
  });
});

describe('workspace/configuration answer', () => {
  const settings = { ...DEFAULTS, bearerToken: 'tok' };

  test('the am-lsp section is the whole mapped object, secrets included', () => {
    const answer = answerConfiguration([{ section: 'am-lsp' }], settings, () => 'other');
    assert.deepEqual(answer, [settings]);
  });

  test('am-lsp.<key> is one value; other sections go to VS Code in their position', () => {
    const answer = answerConfiguration(
      [{ section: 'am-lsp.window' }, { section: 'go' }, { section: 'am-lsp.nope' }, { section: null }],
      settings,
      (item, i) => `other:${String(item.section)}:${i}`,
    );
    assert.deepEqual(answer, ['5m', 'other:go:1', null, 'other:null:3']);
  });
});

describe('redaction', () => {
  test('secrets, header values and URL passwords are hidden from logs', () => {
    const r = redactSettings({
      ...DEFAULTS,
      bearerToken: 'tok',
      password: 'pw',
      headers: { 'X-Scope-OrgID': 'team' },
      prometheusUrl: 'https://u:pw@prom:9090/x',
    });
    assert.equal(r.bearerToken, '<set>');
    assert.equal(r.password, '<set>');
    assert.deepEqual(r.headers, { 'X-Scope-OrgID': '<set>' });
    assert.equal(r.prometheusUrl, 'https://prom:9090/x');
    assert.equal(redactSettings(DEFAULTS).bearerToken, '', 'an unset secret stays visibly unset');
    assert.equal(redactUrl('not a url user:pw@host'), 'host');
    // As the server reads it: everything up to the last '@' is userinfo, '/', '#', '?' included.
    assert.equal(redactUrl('http://alice:2024/Spring@host:9090'), 'http://host:9090');
    assert.equal(redactUrl('https://a:p#s?s/w@rd@prom.example/x'), 'https://prom.example/x');
    assert.equal(redactUrl('http://localhost:9090'), 'http://localhost:9090');
  });
});

describe('the server agrees', () => {
  test("the keys are exactly the JSON names of the server's settings (internal/config)", (t) => {
    const file = path.resolve(__dirname, '../../../../internal/config/config.go');
    if (!fs.existsSync(file)) {
      t.skip('internal/config/config.go is not beside this extension');
      return;
    }
    const src = fs.readFileSync(file, 'utf8');
    const wire = /type wire struct \{([\s\S]*?)\n\}/.exec(src)?.[1];
    assert.ok(wire !== undefined, 'the wire struct of internal/config');
    const keys = [...wire.matchAll(/`json:"([^",]+)/g)].map((m) => m[1]);
    assert.deepEqual([...keys].sort(), SERVER_SETTINGS.map((s) => s.key).sort());
    assert.match(src, /DefaultCodeLensFormat = "\{rate\} · \{errors\} errors · p99 \{p99\}"/);
    assert.match(src, /DefaultPrometheusURL = "http:\/\/localhost:9090"/);
  });
});
