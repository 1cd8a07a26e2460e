// Runs the client's tests (node's built-in test runner) against a real fedwalld.
//
//   node clients/node/test/run.mjs --fedwalld PATH --fixtures tests/fixtures/service
// (or the environment: FEDWALLD, FEDWALL_FIXTURES; then `node --test test/` works as well)
//
// Exit codes: 0 passed, 1 failed, 77 skipped (clients/node/node_modules is missing:
// run `npm ci --prefix clients/node`).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SKIP = 77;
const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = path.join(here, '..');

function option(name, envName) {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  return process.env[envName] || '';
}

const fedwalld = option('fedwalld', 'FEDWALLD');
const fixtures = path.resolve(option('fixtures', 'FEDWALL_FIXTURES') || path.join(pkg, '..', '..', 'tests', 'fixtures', 'service'));

try {
  const require = createRequire(path.join(pkg, 'package.json'));
  require.resolve('@grpc/grpc-js');
  require.resolve('@grpc/proto-loader');
} catch {
  console.log(`SKIPPED: @grpc/grpc-js is not installed in ${path.join(pkg, 'node_modules')} (npm ci --prefix clients/node)`);
  process.exit(SKIP);
}
if (!fedwalld || !fs.existsSync(fedwalld)) {
  console.error(`FAIL: --fedwalld must name the built fedwalld binary (got "${fedwalld}")`);
  process.exit(1);
}
if (!fs.existsSync(path.join(fixtures, 'policy', 'main.rules'))) {
  console.error(`FAIL: --fixtures must name tests/fixtures/service (no policy/main.rules in "${fixtures}")`);
  process.exit(1);
}

// Each test file runs in its own process under `node --test`; the files read these.
const child = spawn(process.execPath, ['--test', '--test-reporter=spec', path.join(here, 'client.test.mjs')], {
  stdio: 'inherit',
  env: { ...process.env, FEDWALLD: path.resolve(fedwalld), FEDWALL_FIXTURES: fixtures },
});
child.on('exit', (code, signal) => process.exit(signal ? 1 : code));
