import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { STATUS_POLL_MS, parseStatus, statusView } from '../src/status';

describe('status bar', () => {
  test('parses the am-lsp.status answer, tolerating a missing reason (omitempty) and extra fields', () => {
    assert.deepEqual(parseStatus({ backend: 'http://p:9090', ok: true, checked: '2026-01-01T00:00:00Z' }), {
      backend: 'http://p:9090',
      ok: true,
      reason: '',
    });
    assert.deepEqual(parseStatus({ ok: false, reason: 'no usable Prometheus URL' }), {
      backend: '',
      ok: false,
      reason: 'no usable Prometheus URL',
    });
    for (const bad of [null, undefined, 'ok', 42, [], { backend: 'x' }, { ok: 'true' }]) {
      assert.equal(parseStatus(bad), undefined, JSON.stringify(bad));
    }
  });

  test('a backend that answers: pulse, no colour, the URL in the tooltip', () => {
    const v = statusView({ kind: 'backend', status: { backend: 'http://prom:9090', ok: true, reason: '' } });
    assert.equal(v.text, '$(pulse) am-lsp');
    assert.equal(v.severity, 'normal');
    assert.match(v.tooltip, /^http:\/\/prom:9090 answers\.\n/);
    const pending = statusView({
      kind: 'backend',
      status: { backend: 'http://prom:9090', ok: true, reason: 'no numbers fetched yet: open a Go file' },
    });
    assert.match(pending.tooltip, /no numbers fetched yet/);
  });

  test('an unreachable backend: warning text and colour, the reason in the tooltip', () => {
    const v = statusView({
      kind: 'backend',
      status: { backend: 'https://prom.example.com', ok: false, reason: 'connection refused: is Prometheus running?' },
    });
    assert.equal(v.text, '$(warning) am-lsp: Prometheus unreachable');
    assert.equal(v.severity, 'warning');
    assert.match(v.tooltip, /^https:\/\/prom\.example\.com: connection refused: is Prometheus running\?/);
    assert.match(statusView({ kind: 'backend', status: { backend: '', ok: false, reason: '' } }).tooltip, /^the backend: no answer/);
  });

  test('never shows credentials, even if a backend URL carried them', () => {
    const v = statusView({ kind: 'backend', status: { backend: 'https://u:secret@prom:9090/', ok: false, reason: 'x' } });
    assert.doesNotMatch(v.tooltip, /secret/);
  });

  test('starting, stopped and unknown states', () => {
    assert.equal(statusView({ kind: 'starting' }).text, '$(sync~spin) am-lsp');
    const stopped = statusView({ kind: 'stopped', reason: 'The am-lsp server was not found' });
    assert.equal(stopped.text, '$(error) am-lsp: not running');
    assert.equal(stopped.severity, 'error');
    assert.match(stopped.tooltip, /was not found[\s\S]*Restart Server/);
    const unknown = statusView({ kind: 'unknown', error: 'unknown command "am-lsp.status"' });
    assert.equal(unknown.text, '$(question) am-lsp');
    assert.match(unknown.tooltip, /unknown command/);
  });

  test('polls every 30 seconds', () => {
    assert.equal(STATUS_POLL_MS, 30_000);
  });
});
