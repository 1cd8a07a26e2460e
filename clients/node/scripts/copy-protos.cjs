'use strict';
// `npm pack` / `npm publish` hooks: copy the project's protos into the package (prepack), and
// remove the copy again afterwards (postpack), so that in a checkout the client always loads
// the repository's proto/ and never a stale copy. The protos are not kept in git here.
const fs = require('node:fs');
const path = require('node:path');

const pkg = path.join(__dirname, '..');
const target = path.join(pkg, 'proto');

if (process.argv.includes('--remove')) {
  fs.rmSync(target, { recursive: true, force: true });
  process.exit(0);
}
const source = path.join(pkg, '..', '..', 'proto', 'fedwall', 'v1');
if (!fs.existsSync(source)) {
  console.error(`copy-protos: ${source} not found (pack from a checkout of the fedwall repository)`);
  process.exit(1);
}
fs.rmSync(target, { recursive: true, force: true });
fs.mkdirSync(path.join(target, 'fedwall', 'v1'), { recursive: true });
for (const name of fs.readdirSync(source)) {
  if (name.endsWith('.proto')) fs.copyFileSync(path.join(source, name), path.join(target, 'fedwall', 'v1', name));
}
