import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  INSTRUMENT_ONLY,
  INSTRUMENT_WITH_SLO,
  type InputOptions,
  NO_LATENCY_OBJECTIVE,
  NO_SUCCESS_OBJECTIVE,
  promptInstrumentation,
  promptSecret,
} from '../src/prompts';
import { LATENCY_THRESHOLDS_MS } from '../src/slo';
import { type Answer, ScriptedWindow } from './helpers/prompter';

async function run(answers: Answer[]) {
  const win = new ScriptedWindow(answers);
  const result = await promptInstrumentation(win);
  return { result, win };
}

describe('Instrument Function prompts', () => {
  test('instrument only: one question, no SLO', async () => {
    const { result, win } = await run([{ pick: INSTRUMENT_ONLY }]);
    assert.deepEqual(result, {});
    assert.equal(win.asked.length, 1);
    assert.deepEqual(win.asked[0]?.labels, [INSTRUMENT_ONLY, INSTRUMENT_WITH_SLO]);
  });

  test('a full SLO: name, success objective, latency objective, threshold', async () => {
    const { result, win } = await run([
      { pick: INSTRUMENT_WITH_SLO },
      { type: '  Checkout ' },
      { pick: '99.9 %' },
      { pick: '95 %' },
      { pick: '250 ms' },
    ]);
    assert.deepEqual(result, { slo: { name: 'Checkout', successTarget: 99.9, latencyTarget: 95, latencyMs: 250 } });
    assert.deepEqual(
      win.asked.map((a) => a.kind),
      ['pick', 'input', 'pick', 'pick', 'pick'],
    );
    const threshold = win.asked[4];
    assert.deepEqual([...(threshold?.labels ?? [])].sort(), LATENCY_THRESHOLDS_MS.map((ms) => `${ms} ms`).sort());
    assert.match(String(threshold?.options?.placeHolder), /95 % of calls/);
  });

  test("the server's default SLO (API, 99 %, 99 % under 250 ms) is pre-filled and listed first", async () => {
    const { win } = await run([{ pick: INSTRUMENT_WITH_SLO }, { type: 'API' }, { pick: '99 %' }, { pick: '99 %' }, { pick: '250 ms' }]);
    const input = win.asked[1]?.options as InputOptions;
    assert.equal(input.value, 'API');
    assert.deepEqual(win.asked[2]?.labels, ['99 %', '99.9 %', '95 %', '90 %', NO_SUCCESS_OBJECTIVE]);
    assert.match(String(win.asked[2].descriptions![0]), /default/);
    assert.equal(win.asked[3]!.labels![0], '99 %');
    assert.equal(win.asked[4]!.labels![0], '250 ms');
    assert.equal(win.asked[4]!.descriptions![0], 'default');
  });

  test('success objective only: no threshold is asked', async () => {
    const { result, win } = await run([
      { pick: INSTRUMENT_WITH_SLO },
      { type: 'API' },
      { pick: '90 %' },
      { pick: NO_LATENCY_OBJECTIVE },
    ]);
    assert.deepEqual(result, { slo: { name: 'API', successTarget: 90 } });
    assert.equal(win.asked.length, 4);
  });

  test('without a success objective the latency objective cannot be skipped', async () => {
    const { result, win } = await run([
      { pick: INSTRUMENT_WITH_SLO },
      { type: 'API' },
      { pick: NO_SUCCESS_OBJECTIVE },
      { pick: '99 %' },
      { pick: '7.5 ms' },
    ]);
    assert.deepEqual(result, { slo: { name: 'API', latencyTarget: 99, latencyMs: 7.5 } });
    assert.ok(!(win.asked[3]?.labels ?? []).includes(NO_LATENCY_OBJECTIVE));
    assert.match(String(win.asked[3]?.options?.placeHolder), /required/);
  });

  test('Escape at any step cancels without asking more or showing an error', async () => {
    const full: Answer[] = [
      { pick: INSTRUMENT_WITH_SLO },
      { type: 'API' },
      { pick: '99 %' },
      { pick: '99 %' },
      { pick: '250 ms' },
    ];
    for (let step = 0; step < full.length; step++) {
      const answers: Answer[] = [...full.slice(0, step), { cancel: true }];
      const { result, win } = await run(answers);
      assert.equal(result, undefined, `cancel at step ${step}`);
      assert.equal(win.asked.length, step + 1, `asked until step ${step}`);
      assert.ok(win.asked.every((a) => a.kind !== 'error'));
    }
  });

  test('the name box validates as the user types', async () => {
    const { win } = await run([{ pick: INSTRUMENT_WITH_SLO }, { cancel: true }]);
    const input = win.asked[1]?.options as InputOptions;
    assert.ok(input.validateInput !== undefined);
    assert.match(input.validateInput('') ?? '', /needs a name/);
    assert.equal(input.validateInput('API'), undefined);
    assert.equal(input.ignoreFocusOut, true);
  });

  test('an invalid name that got past the box is refused with an error, and nothing is returned', async () => {
    const { result, win } = await run([{ pick: INSTRUMENT_WITH_SLO }, { type: 'two\nlines' }]);
    assert.equal(result, undefined);
    assert.equal(win.asked.at(-1)?.kind, 'error');
    assert.match(win.asked.at(-1)?.message ?? '', /^am-lsp: .*one line/);
    assert.equal(win.asked.length, 3);
  });
});

describe('secret prompts', () => {
  test('a password box; the value is trimmed and stored', async () => {
    const win = new ScriptedWindow([{ type: '  tok\n' }]);
    assert.deepEqual(await promptSecret(win, 'bearerToken', false), { action: 'store', value: 'tok' });
    const opts = win.asked[0]?.options as InputOptions;
    assert.equal(opts.password, true);
    assert.match(String(opts.title), /Set Bearer Token/);
    assert.match(String(opts.prompt), /secret storage/);
    assert.doesNotMatch(String(opts.prompt), /leave empty/);
  });

  test('empty deletes the stored secret (and says so when one is stored); Escape keeps it', async () => {
    const win = new ScriptedWindow([{ type: '' }, { cancel: true }]);
    assert.deepEqual(await promptSecret(win, 'password', true), { action: 'delete' });
    assert.match(String((win.asked[0]?.options as InputOptions).prompt), /leave empty to delete/);
    assert.equal(await promptSecret(win, 'password', true), undefined);
  });
});
