// The extension inside a real VS Code: code-server (VS Code 1.100 served to a browser) with the
// packaged .vsix installed, driven through Debian's chromium by playwright-core, against a real
// Prometheus holding the demo data (internal/cmd/demoprom prints its URL and Prometheus's own
// answers for (*Server).Handle). What a user sees is read from the DOM and saved as screenshots.
//
// scripts/test-vscode-e2e sets everything up and runs this file with `node --test`; the
// environment it passes:
//   AM_E2E_CODE_SERVER  the code-server install (scripts/install-code-server)
//   AM_E2E_VSIX         the packaged extension
//   AM_E2E_AM_LSP       the am-lsp binary (am-lsp.serverPath)
//   AM_E2E_DEMOPROM     the demoprom binary
//   AM_E2E_WORKSPACE    a writable copy of testdata/demo (the test edits it)
//   AM_E2E_RESULTS      where screenshots go (test-results/vscode)
//   AM_E2E_CHROMIUM     the browser (/usr/bin/chromium)

import { Buffer } from 'node:buffer';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { after, afterEach, before, describe, test } from 'node:test';

function env(name) {
  const v = process.env[name];
  assert.ok(v !== undefined && v !== '', `${name} must be set (scripts/test-vscode-e2e sets it)`);
  return v;
}

const codeServerDir = env('AM_E2E_CODE_SERVER');
const codeServer = path.join(codeServerDir, 'node_modules', '.bin', 'code-server');
const vsix = env('AM_E2E_VSIX');
const amLsp = env('AM_E2E_AM_LSP');
const demoprom = env('AM_E2E_DEMOPROM');
const workspace = env('AM_E2E_WORKSPACE');
const results = env('AM_E2E_RESULTS');
const chromiumPath = env('AM_E2E_CHROMIUM');
const { chromium } = createRequire(path.join(codeServerDir, 'package.json'))('playwright-core');

/** Grafana's URL: not on loopback (code-server rewrites loopback links to its own port proxy);
 * the browser context answers it with a stand-in page, so nothing leaves the machine. */
const GRAFANA = 'http://grafana.test:3000';
/** Another closed port: a backend that never answers. */
const UNREACHABLE = 'http://127.0.0.1:9';
const GRAFANA_LINK = `${GRAFANA}/d/autometrics-function-explorer/?var-function=Handle`;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'am-lsp-vscode-e2e-'));
const extensionsDir = path.join(tmp, 'extensions');
fs.mkdirSync(results, { recursive: true });

// ---- helpers: processes ---------------------------------------------------------------------

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor(what, fn, ms = 60_000, every = 250) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last !== undefined && last !== null && last !== false) {
        return last;
      }
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${String(last)})`);
    }
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Stops a process started with detached: true and everything in its process group. */
async function stopGroup(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) {
    return;
  }
  const exited = new Promise((r) => proc.once('exit', r));
  try {
    process.kill(-proc.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-proc.pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }, 5000);
  await exited;
  clearTimeout(timer);
  // code-server keeps extension hosts (and their am-lsp) in the group: make sure they go too.
  try {
    process.kill(-proc.pid, 'SIGKILL');
  } catch {
    // the group is empty
  }
}

/** PIDs of the running am-lsp binary this test installed (for "no restart" checks). */
function amLspPids() {
  const pids = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    try {
      if (fs.readlinkSync(`/proc/${entry}/exe`) === amLsp) {
        pids.push(Number(entry));
      }
    } catch {
      // not ours or gone
    }
  }
  return pids.sort();
}

/** Starts demoprom and returns its report; demoprom (and its Prometheus) stop when we close its stdin. */
async function startPrometheus() {
  const proc = spawn(demoprom, ['--module', workspace], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: proc.stdout });
    rl.once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`demoprom exited with ${code}`)));
  });
  return { proc, report: JSON.parse(line) };
}

/**
 * Starts code-server on a free loopback port with a fresh user data dir holding `settings`,
 * the extension installed once into the shared extensions dir. trust=false keeps workspace trust
 * on (the folder opens in Restricted Mode unless trusted).
 */
async function startCodeServer(name, settings, { trust = true } = {}) {
  const userData = path.join(tmp, name);
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  const settingsFile = path.join(userData, 'User', 'settings.json');
  fs.writeFileSync(settingsFile, JSON.stringify(settings, null, 2));
  if (!fs.existsSync(extensionsDir)) {
    const install = spawnSync(codeServer, ['--extensions-dir', extensionsDir, '--user-data-dir', userData, '--install-extension', vsix], {
      encoding: 'utf8',
    });
    assert.equal(install.status, 0, `installing ${vsix}: ${install.stdout}\n${install.stderr}`);
  }
  const port = await freePort();
  const log = fs.openSync(path.join(results, `${name}-code-server.log`), 'w');
  const args = [
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--auth',
    'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-getting-started-override',
    '--user-data-dir',
    userData,
    '--extensions-dir',
    extensionsDir,
  ];
  if (trust) {
    args.push('--disable-workspace-trust');
  }
  const proc = spawn(codeServer, args, {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, AM_PROMETHEUS_URL: '', AM_GRAFANA_URL: '' },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`code-server on ${url}`, async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok, 60_000);
  return { proc, url, settingsFile };
}

// ---- helpers: the workbench -----------------------------------------------------------------

let shot = 0;
async function screenshot(page, name) {
  shot++;
  await page.screenshot({ path: path.join(results, `${String(shot).padStart(2, '0')}-${name}.png`) });
}

/** Collapses whitespace (the editor renders spaces and tabs as no-break spaces). */
function squash(s) {
  return s.replace(/[\s\u00a0]+/g, ' ').trim();
}

async function openWorkbench(browser, url) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
  await context.route(`${GRAFANA}/**`, (route) => route.fulfill({ contentType: 'text/html', body: '<title>Grafana stand-in</title>' }));
  const page = await context.newPage();
  await page.goto(`${url}/?folder=${encodeURIComponent(workspace)}`);
  await page.waitForSelector('.monaco-workbench .part.editor', { timeout: 90_000 });
  await page.waitForSelector('.statusbar', { timeout: 30_000 });
  return { context, page };
}

/** Opens the quick input with `key` and types `text`, which starts with the mode's prefix
 * (">" commands, ":" go to line, none for files): filling replaces the prefix the key typed. */
async function quickInput(page, key, text) {
  await page.keyboard.press(key);
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(text);
  return input;
}

/** Opens a workspace file with Quick Open and waits for its editor. */
async function openFile(page, rel) {
  const tab = page.locator('.tab', { hasText: path.basename(rel) });
  if ((await tab.count()) > 0) {
    await tab.first().click();
    await page.locator('.tab.active', { hasText: path.basename(rel) }).waitFor();
    await page.locator('.editor-instance .view-line').first().waitFor();
    return;
  }
  const input = await quickInput(page, 'Control+P', rel);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: path.basename(rel) }).first().waitFor();
  await input.press('Enter');
  await page.locator('.tab.active', { hasText: path.basename(rel) }).waitFor();
  await page.locator('.editor-instance .view-line').first().waitFor();
}

/** Puts the cursor at a 0-based line and UTF-16 character (Go to Line takes 1-based). */
async function goTo(page, line, character) {
  const input = await quickInput(page, 'Control+G', `:${line + 1}:${character + 1}`);
  await input.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
}

/** The CodeLens text right above the editor line whose text contains `marker`, or undefined. */
async function lensAbove(page, marker) {
  return page.evaluate((m) => {
    const squashIt = (s) => s.replace(/[\s\u00a0]+/g, ' ').trim();
    const line = [...document.querySelectorAll('.editor-instance .view-line')].find((l) => squashIt(l.textContent).includes(m));
    if (!line) {
      return undefined;
    }
    const top = line.getBoundingClientRect().top;
    let best;
    let bestBottom = -Infinity;
    for (const lens of document.querySelectorAll('.editor-instance .codelens-decoration')) {
      const r = lens.getBoundingClientRect();
      if (r.height > 0 && r.bottom <= top + 2 && r.bottom > bestBottom) {
        best = lens;
        bestBottom = r.bottom;
      }
    }
    return best && top - bestBottom < 40 ? best.textContent : undefined;
  }, marker);
}

/** The visible lines of the active editor, top to bottom. */
async function editorText(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('.editor-instance .view-line')]
      .map((l) => ({ top: l.getBoundingClientRect().top, text: l.textContent }))
      .sort((a, b) => a.top - b.top)
      .map((l) => l.text)
      .join('\n'),
  );
}

/** Editor lines as source lines (no-break spaces back to spaces, leading indentation dropped). */
function squashLines(text) {
  return text
    .split('\n')
    .map((l) => l.replace(/\u00a0/g, ' ').trimStart())
    .join('\n');
}

/** The text of the (managed) hover the workbench shows now, if any. */
async function visibleHover(page) {
  return page.evaluate(() => {
    const els = [...document.querySelectorAll('.monaco-hover, .workbench-hover')].filter((e) => e.getBoundingClientRect().height > 0);
    return els.map((e) => e.textContent).join('\n') || undefined;
  });
}

/** Moves the keyboard focus in the list under `container` to the row labelled `label`, then Enter
 * (a mouse click on the Code Action list lands on the workbench's pointer block). */
async function chooseFocused(page, container, label) {
  for (let i = 0; i < 20; i++) {
    const focused = await page.locator(`${container} .monaco-list-row.focused`).first().getAttribute('aria-label').catch(() => null);
    if (focused !== null && focused.startsWith(label)) {
      await page.keyboard.press('Enter');
      return;
    }
    await page.keyboard.press('ArrowDown');
  }
  throw new Error(`no "${label}" row in ${container}`);
}

/** The source of func normalize and the comment lines right above it, in a version of api/handle.go. */
function normalizeOf(text) {
  const at = text.indexOf('func normalize(');
  assert.ok(at >= 0, 'api/handle.go has func normalize');
  const end = text.indexOf('\n}\n', at);
  return { doc: text.slice(0, at).split('\n').slice(-4).join('\n'), body: text.slice(at, end + 2) };
}

/** Whether normalize carries the directive and the generator's statements. */
function normalizeInstrumented(text) {
  const { doc, body } = normalizeOf(text);
  return /^\/\/autometrics:inst\b/m.test(doc) && body.includes('//autometrics:shadow-ctx') && body.includes('//autometrics:defer');
}

// ---- numbers --------------------------------------------------------------------------------

/** A displayed number in base units (calls/s, ratio, seconds), as cardcheck reads it. */
function parseShown(s) {
  s = squash(s);
  for (const [suffix, scale] of [
    [' req/s', 1],
    [' %', 0.01],
    [' ms', 0.001],
    [' s', 1],
  ]) {
    if (s.endsWith(suffix)) {
      return Number(s.slice(0, -suffix.length)) * scale;
    }
  }
  return Number(s);
}

/** Within display rounding (three significant digits), as cardcheck.Close. */
function close(shown, exact) {
  return Math.abs(shown - exact) <= 0.006 * Math.abs(exact) + 1e-12;
}

function assertNumber(what, shown, expected) {
  assert.ok(expected !== undefined, `Prometheus has no answer for ${what}`);
  assert.ok(close(shown, expected), `${what}: shown ${shown}, Prometheus answers ${expected}`);
}

// The default lens title: "{rate} req/s · {errors} % errors · p99 {p99}".
const LENS = /(\S+ req\/s) · (\S+ %) errors · p99 (\S+ (?:ms|s))/;

function checkLens(text, expected) {
  const m = LENS.exec(squash(text));
  assert.ok(m, `the lens "${text}" has no numbers`);
  assertNumber('lens request rate', parseShown(m[1]), expected['Request rate']);
  assertNumber('lens error ratio', parseShown(m[2]), expected['Error ratio']);
  assertNumber('lens p99', parseShown(m[3]), expected['Latency p99']);
}

// ---- the test -------------------------------------------------------------------------------

describe('the extension in a real VS Code (code-server + chromium)', () => {
  let prom;
  let browser;
  const started = [];

  before(async () => {
    prom = await startPrometheus();
    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'], headless: true });
  });

  after(async () => {
    await browser?.close();
    for (const cs of started) {
      await stopGroup(cs.proc);
    }
    prom?.proc.stdin.end();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('a trusted workspace', () => {
    let cs;
    let page;
    let expected;
    let handleLine;
    let lens;

    before(async () => {
      expected = prom.report.expected;
      handleLine = squash(fs.readFileSync(prom.report.file, 'utf8').split('\n')[prom.report.line]);
      cs = await startCodeServer('trusted', {
        'am-lsp.serverPath': amLsp,
        'am-lsp.prometheusUrl': prom.report.url,
        'am-lsp.grafanaUrl': GRAFANA,
        'workbench.startupEditor': 'none',
        'security.workspace.trust.enabled': false,
      });
      started.push(cs);
      ({ page } = await openWorkbench(browser, cs.url));
    });

    afterEach(async (t) => {
      await page.keyboard.press('Escape');
      await screenshot(page, `after-${t.name.slice(0, 40).replace(/[^\w]+/g, '-')}`);
    });

    test('the CodeLens above (*Server).Handle shows Prometheus\'s numbers', async () => {
      await openFile(page, path.relative(workspace, prom.report.file));
      lens = await waitFor(
        'a CodeLens with numbers above Handle',
        async () => {
          const t = await lensAbove(page, handleLine);
          return t !== undefined && LENS.test(squash(t)) ? t : undefined;
        },
        90_000,
      );
      await screenshot(page, 'codelens');
      checkLens(lens, expected);
    });

    test('the hover card shows Prometheus\'s numbers', async () => {
      await goTo(page, prom.report.line, prom.report.character);
      let rows;
      await waitFor('a hover card with numbers', async () => {
        await page.keyboard.press('Escape');
        await page.keyboard.press('Control+K');
        await page.keyboard.press('Control+I');
        await page.locator('.monaco-hover table').first().waitFor({ timeout: 5000 });
        rows = await page.$$eval('.monaco-hover table tr', (trs) =>
          trs.map((tr) => [...tr.cells].map((c) => c.textContent.replace(/[\s\u00a0]+/g, ' ').trim())),
        );
        return rows.some((r) => r[0] === 'Request rate' && /req\/s/.test(r[1] ?? ''));
      });
      await screenshot(page, 'hover');
      const shown = Object.fromEntries(rows.filter((r) => r.length === 2));
      for (const figure of ['Request rate', 'Error ratio', 'Latency p95', 'Latency p99', 'Concurrent calls']) {
        assert.ok(figure in shown, `the card has no "${figure}" row: ${JSON.stringify(rows)}`);
        assertNumber(`card ${figure}`, parseShown(shown[figure]), expected[figure]);
      }
      await page.keyboard.press('Escape');
    });

    test('the hover card draws the trend as SVG charts (hoverImages), the error chart with the SLO line', async () => {
      await goTo(page, prom.report.line, prom.report.character);
      // The trend may come a moment after the numbers: hover again until both charts are shown.
      const charts = await waitFor('a hover card with two trend charts', async () => {
        await page.keyboard.press('Escape');
        await page.keyboard.press('Control+K');
        await page.keyboard.press('Control+I');
        await page.locator('.monaco-hover table').first().waitFor({ timeout: 5000 });
        const imgs = await page.$$eval('.monaco-hover img', (els) =>
          els.map((e) => ({ alt: e.getAttribute('alt'), src: e.getAttribute('src') ?? '', drawn: e.complete && e.naturalWidth > 0 })),
        );
        return imgs.length === 2 && imgs.every((i) => i.drawn) ? imgs : undefined;
      }, 30_000);
      // The charts sit below the table: scroll the hover to them for the screenshot.
      await page.locator('.monaco-hover img').last().scrollIntoViewIfNeeded();
      await screenshot(page, 'hover-chart');
      const prefix = 'data:image/svg+xml;base64,';
      assert.deepEqual(charts.map((c) => c.alt), ['requests', 'errors']);
      for (const c of charts) {
        assert.ok(c.src.startsWith(prefix), `the ${c.alt} chart's src is not an SVG data URI: ${c.src.slice(0, 60)}`);
        const svg = Buffer.from(c.src.slice(prefix.length), 'base64').toString('utf8');
        assert.match(svg, /^<svg [^>]*>.*<path d="M[^"]+"[^>]*\/><\/svg>$/, `the ${c.alt} chart draws no line: ${svg}`);
        // The demo's Handle has a 99 % success objective: only the error chart draws its 1 % line.
        assert.equal(/<line /.test(svg), c.alt === 'errors', `${c.alt} chart threshold line: ${svg}`);
      }
      await page.keyboard.press('Escape');
    });

    test('the status bar tooltip agrees with the lens (the backend answers, numbers fetched)', async () => {
      const item = page.locator('.statusbar-item', { hasText: 'am-lsp' }).first();
      await item.waitFor();
      // The lens has numbers: the status asked after that lens arrived must say so at once, not
      // after the next 30 s poll. A few hovers in a short while, never a poll's worth of waiting.
      const tooltip = await waitFor(
        'the status bar tooltip',
        async () => {
          await page.mouse.move(10, 10);
          await item.hover();
          const t = await waitFor('a hover', () => visibleHover(page), 3000, 100).catch(() => undefined);
          return t !== undefined && t.includes('answers') && !t.includes('no numbers fetched yet') ? t : undefined;
        },
        10_000,
        500,
      ).catch(async (err) => {
        await screenshot(page, 'status-tooltip-wrong');
        throw err;
      });
      await screenshot(page, 'status-tooltip');
      assert.ok(tooltip.includes(prom.report.url), `the tooltip names the backend: ${tooltip}`);
      await page.mouse.move(10, 10);
    });

    test('Ctrl+. on an uninstrumented function offers "Instrument …"; applying it writes the statements', async () => {
      const file = path.join(workspace, 'api', 'handle.go');
      const original = fs.readFileSync(file, 'utf8');
      const lines = original.split('\n');
      const line = lines.findIndex((l) => l.startsWith('func normalize('));
      assert.ok(line >= 0, 'api/handle.go has func normalize');
      await openFile(page, 'api/handle.go');
      await goTo(page, line, 'func '.length);
      const action = 'Instrument normalize with Autometrics';
      const row = page.locator('.action-widget .monaco-list-row', { hasText: action }).first();
      await waitFor(`the "${action}" quick fix`, async () => {
        await page.keyboard.press('Escape');
        await page.keyboard.press('Control+.');
        await row.waitFor({ timeout: 3000 });
        return true;
      });
      await screenshot(page, 'quick-fix');
      await chooseFocused(page, '.action-widget', action);
      await waitFor('normalize instrumented in the editor', async () => normalizeInstrumented(squashLines(await editorText(page))), 20_000);
      await page.keyboard.press('Control+S');
      await waitFor('normalize instrumented on disk', () => normalizeInstrumented(fs.readFileSync(file, 'utf8')), 20_000);
      await screenshot(page, 'quick-fix-applied');
      assert.ok(!normalizeInstrumented(original), 'normalize was not instrumented before');
      // Undo (one step: the action is one edit) and save, for the palette test below.
      await page.keyboard.press('Control+Z');
      await page.keyboard.press('Control+S');
      await waitFor('the original file back on disk', () => fs.readFileSync(file, 'utf8') === original, 20_000);
    });

    test('palette: "am-lsp: Instrument Function with Autometrics…" instruments the function at the cursor', async () => {
      const file = path.join(workspace, 'api', 'handle.go');
      const original = fs.readFileSync(file, 'utf8');
      const line = original.split('\n').findIndex((l) => l.startsWith('func normalize('));
      await openFile(page, 'api/handle.go');
      await goTo(page, line, 'func '.length);
      const input = await quickInput(page, 'F1', '>am-lsp: Instrument Function with Autometrics');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Instrument Function with Autometrics' }).first().waitFor();
      await input.press('Enter');
      // The first question: instrument only, or with an SLO.
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Instrument only' }).first().waitFor();
      await screenshot(page, 'palette-instrument');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Instrument only' }).first().click();
      await waitFor('normalize instrumented in the editor', async () => normalizeInstrumented(squashLines(await editorText(page))), 20_000);
      await page.keyboard.press('Control+S');
      await waitFor('normalize instrumented on disk', () => normalizeInstrumented(fs.readFileSync(file, 'utf8')), 20_000);
      assert.ok(!normalizeInstrumented(original), 'normalize was not instrumented before');
      await page.keyboard.press('Control+Z');
      await page.keyboard.press('Control+S');
      await waitFor('the original file back on disk', () => fs.readFileSync(file, 'utf8') === original, 20_000);
    });

    test('palette: "am-lsp: Open Function in Grafana" opens the Function Explorer (window/showDocument)', async () => {
      await openFile(page, path.relative(workspace, prom.report.file));
      await goTo(page, prom.report.line, prom.report.character);
      const input = await quickInput(page, 'F1', '>am-lsp: Open Function in Grafana');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Open Function in Grafana' }).first().waitFor();
      const popup = page.context().waitForEvent('page', { timeout: 30_000 });
      await input.press('Enter');
      // VS Code opens a loopback link at once; another site would first get a "Do you want to
      // open" dialog, which is answered with Open.
      const dialog = page.locator('.monaco-dialog-box');
      const first = await Promise.race([popup.then(() => 'page'), dialog.waitFor({ timeout: 30_000 }).then(() => 'dialog')]);
      await screenshot(page, 'open-in-grafana');
      if (first === 'dialog') {
        // The dialog shortens long URLs in the middle; it must at least name the host.
        assert.ok((await dialog.textContent()).includes(new URL(GRAFANA).host), `the dialog names ${GRAFANA}`);
        await dialog.locator('.monaco-button', { hasText: /^Open$/ }).click();
      }
      const opened = await popup;
      // The new page starts blank, then navigates to the link.
      const url = await waitFor('the opened page\'s URL', () => (opened.url() !== '' && opened.url() !== 'about:blank' ? opened.url() : undefined), 20_000, 50);
      assert.equal(url, GRAFANA_LINK);
      await opened.close();
    });

    test('palette: "am-lsp: Copy Function Snapshot" puts the function\'s snapshot on the clipboard', async () => {
      await openFile(page, path.relative(workspace, prom.report.file));
      await goTo(page, prom.report.line, prom.report.character);
      const input = await quickInput(page, 'F1', '>am-lsp: Copy Function Snapshot');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Copy Function Snapshot' }).first().waitFor();
      await input.press('Enter');
      await page.locator('.notifications-toasts', { hasText: 'snapshot copied' }).waitFor({ timeout: 30_000 });
      await screenshot(page, 'snapshot');
      const copied = await page.evaluate(() => navigator.clipboard.readText());
      assert.ok(copied.startsWith('### am-lsp snapshot'), `the clipboard holds a snapshot: ${copied.slice(0, 200)}`);
      assert.ok(copied.includes(prom.report.function), `the snapshot names ${prom.report.function}`);
    });

    test('a settings.json change reaches the running server (no restart)', async () => {
      await openFile(page, path.relative(workspace, prom.report.file));
      const before = amLspPids();
      assert.equal(before.length, 1, `one am-lsp runs: ${JSON.stringify(before)}`);
      // As a user does: Preferences: Open User Settings (JSON), edit, save.
      const settings = JSON.parse(fs.readFileSync(cs.settingsFile, 'utf8'));
      settings['am-lsp.codeLensFormat'] = '{rate} · p95 {p95} (custom)';
      const input = await quickInput(page, 'F1', '>Preferences: Open User Settings (JSON)');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Open User Settings (JSON)' }).first().waitFor();
      await input.press('Enter');
      await page.locator('.tab.active', { hasText: 'settings.json' }).waitFor();
      await page.locator('.editor-instance .view-line').first().click();
      await page.keyboard.press('Control+A');
      await page.keyboard.press('Delete');
      await page.keyboard.insertText(JSON.stringify(settings, null, 2));
      await page.keyboard.press('Control+S');
      await waitFor('settings.json saved', () => fs.readFileSync(cs.settingsFile, 'utf8').includes('(custom)'), 10_000);
      await openFile(page, path.relative(workspace, prom.report.file));
      const custom = await waitFor('the lens in the new format', async () => {
        const t = await lensAbove(page, handleLine);
        return t !== undefined && t.includes('(custom)') ? t : undefined;
      }, 30_000);
      await screenshot(page, 'settings-change');
      const m = /(\S+ req\/s) · p95 (\S+ (?:ms|s)) \(custom\)/.exec(squash(custom));
      assert.ok(m, `the lens "${custom}" follows the new format`);
      assertNumber('lens request rate', parseShown(m[1]), expected['Request rate']);
      assertNumber('lens p95', parseShown(m[2]), expected['Latency p95']);
      assert.deepEqual(amLspPids(), before, 'the same am-lsp process serves the new settings');
    });
  });

  describe('an untrusted workspace (Restricted Mode)', () => {
    let page;
    let settingsDir;

    before(async () => {
      // The workspace's own settings point at the real Prometheus; the user's at nothing.
      settingsDir = path.join(workspace, '.vscode');
      fs.mkdirSync(settingsDir, { recursive: true });
      fs.writeFileSync(
        path.join(settingsDir, 'settings.json'),
        JSON.stringify({ 'am-lsp.prometheusUrl': prom.report.url }, null, 2),
      );
      const cs = await startCodeServer(
        'restricted',
        { 'am-lsp.serverPath': amLsp, 'am-lsp.prometheusUrl': UNREACHABLE, 'workbench.startupEditor': 'none' },
        { trust: false },
      );
      started.push(cs);
      ({ page } = await openWorkbench(browser, cs.url));
    });

    after(() => {
      fs.rmSync(settingsDir, { recursive: true, force: true });
    });

    test('the workspace cannot choose the backend until trusted, then can without a restart', async () => {
      const dialog = page.locator('.monaco-dialog-box', { hasText: 'trust' });
      await dialog.waitFor({ timeout: 30_000 });
      await screenshot(page, 'trust-prompt');
      await dialog.locator('.monaco-button', { hasText: "No, I don't trust the authors" }).click();
      await openFile(page, path.relative(workspace, prom.report.file));
      const item = page.locator('.statusbar-item', { hasText: 'am-lsp' }).first();
      const tooltip = async () => {
        await page.mouse.move(10, 10);
        await item.hover();
        return waitFor('a hover', () => visibleHover(page), 3000, 100).catch(() => undefined);
      };
      // Restricted: the user's UNREACHABLE backend, not the workspace's Prometheus.
      const restricted = await waitFor('the status in Restricted Mode', async () => {
        const t = await tooltip();
        return t?.includes(UNREACHABLE) ? t : undefined;
      }, 30_000);
      await screenshot(page, 'restricted-status');
      assert.ok(!restricted.includes(prom.report.url), `Restricted Mode ignores the workspace's prometheusUrl: ${restricted}`);
      // Trust the folder: now the workspace's prometheusUrl applies, without a restart.
      const trust = async () => {
        const input = await quickInput(page, 'F1', '>Workspaces: Manage Workspace Trust');
        await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Manage Workspace Trust' }).first().waitFor();
        await input.press('Enter');
        await page.locator('.workspace-trust-editor .monaco-button', { hasText: /^Trust$/ }).first().click();
      };
      const trustedStatus = (ms) => waitFor('the status once trusted', async () => {
        const t = await tooltip();
        return t?.includes(prom.report.url) ? t : undefined;
      }, ms);
      await trust();
      // The trust editor's button sometimes takes no click on a loaded machine (seen once in CI
      // runs): trusting is idempotent, so a second try is the user's own remedy, not a mask.
      let trusted = await trustedStatus(20_000).catch(() => undefined);
      if (trusted === undefined) {
        await screenshot(page, 'trust-not-taken');
        await trust();
        trusted = await trustedStatus(30_000);
      }
      await screenshot(page, 'trusted-status');
      assert.ok(trusted.includes('answers'), trusted);
      const handleLine = squash(fs.readFileSync(prom.report.file, 'utf8').split('\n')[prom.report.line]);
      await openFile(page, path.relative(workspace, prom.report.file));
      const lens = await waitFor('numbers in the lens once trusted', async () => {
        const t = await lensAbove(page, handleLine);
        return t !== undefined && LENS.test(squash(t)) ? t : undefined;
      }, 60_000);
      await screenshot(page, 'trusted-codelens');
      checkLens(lens, prom.report.expected);
    });
  });
});
