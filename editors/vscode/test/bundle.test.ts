// The shipped file is dist/extension.js, bundled by esbuild with vscode-languageclient inside.
// It must load with only `vscode` (external) and Node's modules, and export activate/deactivate.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as Module from 'node:module';
import * as path from 'node:path';
import { test } from 'node:test';

import { ROOT, manifest } from './helpers/manifest';

/** A value that is every function, class and object at once: the `vscode` API for loading only. */
function anything(): unknown {
  const target = function () {
    return undefined;
  } as unknown as Record<string | symbol, unknown>;
  return new Proxy(target, {
    get(t, p) {
      if (p === 'then') {
        return undefined;
      }
      if (p === Symbol.toPrimitive) {
        return () => '';
      }
      if (!(p in t)) {
        t[p] = anything();
      }
      return t[p];
    },
    construct: () => anything() as object,
    apply: () => anything(),
  });
}

test('the bundle loads with only vscode and Node built-ins, and exports activate and deactivate', () => {
  const bundle = path.join(ROOT, manifest().main);
  assert.ok(fs.existsSync(bundle), `${bundle} is built (npm run build)`);
  const loaded: string[] = [];
  const M = Module as unknown as { _load: (r: string, ...rest: unknown[]) => unknown; builtinModules: string[] };
  const original = M._load;
  M._load = function (request: string, ...rest: unknown[]) {
    loaded.push(request);
    return request === 'vscode' ? anything() : original.call(this, request, ...rest);
  };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loading the shipped file
    const ext = require(bundle) as Record<string, unknown>;
    assert.equal(typeof ext['activate'], 'function');
    assert.equal(typeof ext['deactivate'], 'function');
  } finally {
    M._load = original;
  }
  const builtins = new Set(M.builtinModules);
  const foreign = loaded.filter((r) => r !== bundle && r !== 'vscode' && !builtins.has(r.replace(/^node:/, '')));
  assert.deepEqual(foreign, [], 'everything else is inside the bundle');
});
