// Checks a packaged .vsix: the files it must hold (the bundle, the manifest, README, CHANGELOG,
// LICENSE), none it must not (sources, tests, node_modules, source maps, npm config), and that
// its package.json starts the bundle. Reads the zip's central directory with Node alone.
// Usage: node scripts/check-vsix.mjs FILE.vsix
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

const file = process.argv[2];
if (!file) {
  console.error('usage: node scripts/check-vsix.mjs FILE.vsix');
  process.exit(2);
}
const zip = readFileSync(file);

function entries() {
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${file} is not a zip file`);
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const out = new Map();
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error('corrupt central directory');
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLen = zip.readUInt16LE(at + 28);
    const extraLen = zip.readUInt16LE(at + 30);
    const commentLen = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLen);
    out.set(name, { method, size, local });
    at += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

function read(entry) {
  const { method, size, local } = entry;
  const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
  const data = zip.subarray(start, start + size);
  return method === 8 ? inflateRawSync(data) : data;
}

const files = entries();
const problems = [];
for (const required of [
  'extension.vsixmanifest',
  'extension/package.json',
  'extension/dist/extension.js',
  'extension/readme.md',
  'extension/changelog.md',
  'extension/LICENSE.txt',
]) {
  if (!files.has(required)) problems.push(`missing ${required}`);
}
for (const name of files.keys()) {
  if (/^extension\/(src|out|test|scripts|node_modules)\//.test(name) || /\.(ts|map|vsix)$/.test(name) || /(^|\/)\.npmrc$/.test(name)) {
    problems.push(`must not ship ${name}`);
  }
}
const manifestEntry = files.get('extension/package.json');
if (manifestEntry) {
  const manifest = JSON.parse(read(manifestEntry).toString('utf8'));
  if (manifest.main !== './dist/extension.js') problems.push(`package.json main is ${manifest.main}`);
  if (!(manifest.activationEvents ?? []).includes('onLanguage:go')) problems.push('package.json does not activate on Go files');
}
const bundle = files.get('extension/dist/extension.js');
if (bundle) {
  const js = read(bundle).toString('utf8');
  if (!js.includes('am-lsp.status') || !js.includes('workspace/didChangeConfiguration')) {
    problems.push('dist/extension.js does not look like the bundled extension');
  }
  if (/require\(["']vscode-languageclient/.test(js)) problems.push('vscode-languageclient is not bundled');
}
if (problems.length > 0) {
  console.error(`${file}:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`${file}: ${files.size} files, ${(zip.length / 1024).toFixed(1)} KiB, contents checked`);
