import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  LATENCY_THRESHOLDS_MS,
  MAX_SLO_NAME_LENGTH,
  OBJECTIVES,
  formatList,
  instrumentArgument,
  validateSlo,
  validateSloName,
} from '../src/slo';

describe('SLO validation', () => {
  test('the lists are those of the Autometrics alerting rules and autometrics-go buckets', () => {
    assert.deepEqual(OBJECTIVES, [90, 95, 99, 99.9]);
    assert.deepEqual(LATENCY_THRESHOLDS_MS, [5, 7.5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000]);
  });

  test('valid SLOs: success only, latency only, both; every listed value', () => {
    assert.deepEqual(validateSlo({ name: 'API', successTarget: 99 }), []);
    assert.deepEqual(validateSlo({ name: 'API', latencyMs: 250, latencyTarget: 99.9 }), []);
    assert.deepEqual(validateSlo({ name: 'Checkout', successTarget: 90, latencyMs: 5, latencyTarget: 95 }), []);
    for (const o of OBJECTIVES) {
      for (const ms of LATENCY_THRESHOLDS_MS) {
        assert.deepEqual(validateSlo({ name: 'A', successTarget: o, latencyMs: ms, latencyTarget: o }), [], `${o} ${ms}`);
      }
    }
  });

  test('values outside the lists are rejected, naming the allowed ones', () => {
    const [success] = validateSlo({ name: 'API', successTarget: 98 });
    assert.equal(success, 'The success objective 98 % is not one of 90 %, 95 %, 99 % or 99.9 %.');
    assert.match(validateSlo({ name: 'API', latencyMs: 250, latencyTarget: 99.99 })[0] ?? '', /latency objective 99\.99 %/);
    assert.match(validateSlo({ name: 'API', latencyMs: 300, latencyTarget: 99 })[0] ?? '', /threshold 300 ms is not one of 5 ms, .* or 10000 ms/);
    assert.equal(validateSlo({ name: 'API', latencyMs: 0.25, latencyTarget: 99 }).length, 1, 'milliseconds, not seconds');
  });

  test('a name is required with any objective', () => {
    assert.match(validateSlo({ name: '', successTarget: 99 })[0] ?? '', /needs a name/);
    assert.match(validateSlo({ name: '   ', latencyMs: 250, latencyTarget: 99 })[0] ?? '', /needs a name/);
  });

  test('latency threshold and latency objective go together', () => {
    assert.deepEqual(validateSlo({ name: 'API', latencyMs: 250 }), [
      'A latency threshold needs a latency objective (the percentage of calls faster than it).',
    ]);
    assert.deepEqual(validateSlo({ name: 'API', successTarget: 99, latencyTarget: 99 }), [
      'A latency objective needs a latency threshold in milliseconds.',
    ]);
  });

  test('an SLO needs at least one objective', () => {
    assert.deepEqual(validateSlo({ name: 'API' }), ['An SLO needs a success objective, a latency objective, or both.']);
  });

  test('names: trimmed, one line, bounded', () => {
    assert.equal(validateSloName(' API '), undefined);
    assert.equal(validateSloName('Checkout (EU)'), undefined);
    assert.match(validateSloName('') ?? '', /needs a name/);
    assert.match(validateSloName('a\nb') ?? '', /one line/);
    assert.match(validateSloName('a\tb') ?? '', /one line/);
    assert.equal(validateSloName('x'.repeat(MAX_SLO_NAME_LENGTH)), undefined);
    assert.match(validateSloName('x'.repeat(MAX_SLO_NAME_LENGTH + 1)) ?? '', /keep it to 100/);
  });

  test('formatList', () => {
    assert.equal(formatList([]), '');
    assert.equal(formatList([1]), '1');
    assert.equal(formatList([1, 2, 3], ' ms'), '1 ms, 2 ms or 3 ms');
  });
});

describe('am-lsp.instrument argument', () => {
  const pos = { line: 3, character: 7 };

  test('without an SLO: uri and position only', () => {
    assert.deepEqual(instrumentArgument('file:///a.go', pos), { uri: 'file:///a.go', position: { line: 3, character: 7 } });
    assert.ok(!('slo' in instrumentArgument('file:///a.go', pos)));
  });

  test('with an SLO: the name trimmed, absent objectives left out (not null)', () => {
    const arg = instrumentArgument('file:///a.go', pos, { name: ' API ', successTarget: 99.9 });
    assert.deepEqual(arg.slo, { name: 'API', successTarget: 99.9 });
    assert.equal(JSON.stringify(arg), '{"uri":"file:///a.go","position":{"line":3,"character":7},"slo":{"name":"API","successTarget":99.9}}');
    const full = instrumentArgument('file:///a.go', pos, { name: 'API', successTarget: 99, latencyMs: 7.5, latencyTarget: 95 });
    assert.deepEqual(full.slo, { name: 'API', successTarget: 99, latencyMs: 7.5, latencyTarget: 95 });
  });
});
