// The review page of fedwalld in a real browser (Debian's /usr/bin/chromium, driven by
// playwright-core): log in, look at a hostile post, approve one flag, remove others (one with
// its domain blocked, by keyboard shortcut), and check the review store through the API.
//
//   node review_page_test.mjs --fedwalld PATH --fedwall PATH --fixtures tests/fixtures/service
//        [--screenshot /tmp/review.png]
// (or the environment: FEDWALLD, FEDWALL, FEDWALL_FIXTURES, CHROMIUM, SCREENSHOT)
//
// Exit codes: 0 passed, 1 failed, 77 skipped (no chromium or no node_modules/playwright-core:
// run `npm ci --prefix tests/browser`).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const SKIP = 77;
const here = path.dirname(fileURLToPath(import.meta.url));

function option(name, envName) {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  return process.env[envName] || '';
}

const fedwalld = option('fedwalld', 'FEDWALLD');
const fedwall = option('fedwall', 'FEDWALL');
const fixtures = option('fixtures', 'FEDWALL_FIXTURES') || path.join(here, '..', 'fixtures', 'service');
const chromiumPath = option('chromium', 'CHROMIUM') || '/usr/bin/chromium';
const screenshot = option('screenshot', 'SCREENSHOT');

function skip(reason) {
  console.log(`SKIPPED: ${reason}`);
  process.exit(SKIP);
}

if (!fs.existsSync(chromiumPath)) skip(`${chromiumPath} not found (apt-get install chromium)`);
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  skip(`playwright-core is not installed in ${here}/node_modules (npm ci --prefix tests/browser)`);
}
for (const [name, p] of [['--fedwalld', fedwalld], ['--fedwall', fedwall]]) {
  if (!p || !fs.existsSync(p)) {
    console.error(`FAIL: ${name} must name the built binary (got "${p}")`);
    process.exit(1);
  }
}

let failures = 0;
function check(condition, what) {
  if (condition) {
    console.log(`ok    ${what}`);
  } else {
    failures++;
    console.log(`FAIL  ${what}`);
  }
}

// ---- the server -------------------------------------------------------------------------------

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fedwall-browser-'));
fs.cpSync(path.join(fixtures, 'policy'), path.join(tmp, 'policy'), { recursive: true });
const token = `tok-${Math.random().toString(36).slice(2)}${Date.now()}`;
fs.writeFileSync(path.join(tmp, 'admin-token'), `${token}\n`, { mode: 0o600 });

const base = JSON.parse(fs.readFileSync(path.join(fixtures, 'activities', 'free-crypto-note.json'), 'utf8'));
function variant(host, number, content, extra = {}) {
  const text = JSON.stringify(base)
    .replaceAll('mastodon.example', host)
    .replaceAll('1001', String(number));
  const activity = JSON.parse(text);
  if (content) activity.object.content = content;
  Object.assign(activity.object, extra);
  return activity;
}
const HOSTILE = '<p>Claim your free crypto now <script>window.__pwned=1</script>' +
  '<img src=x onerror="window.__pwned=1"><a href="javascript:window.__pwned=1">x</a>' +
  '<svg onload="window.__pwned=1"></svg><a href=" javascript:window.__pwned=1">y</a>' +
  '<a href="data:text/html,&lt;script&gt;window.__pwned=1&lt;/script&gt;">z</a>' +
  '<style>*{display:none!important}</style>' +
  '<div style="position:fixed;inset:0;background:red">overlay</div>' +
  '<iframe src="javascript:window.__pwned=1"></iframe>' +
  '<a href="https://safe.example/page" onclick="window.__pwned=1">a safe link</a></p>' +
  '<p>&lt;script&gt;window.__pwned=1&lt;/script&gt; stays text</p>';
const activities = {
  approve: variant('a.example', 2001),
  block: variant('spam.example', 2002),
  remove: variant('c.example', 2003),
  hostile: variant('hostile.example', 2004, HOSTILE, {
    summary: '<img src=x onerror="window.__pwned=1">CW: money',
    attachment: [
      { type: 'Document', mediaType: 'image/svg+xml', url: 'javascript:window.__pwned=1', name: '<svg onload=alert(1)>' },
      { type: 'Document', mediaType: 'image/png', url: 'https://media.example/cat.png', name: 'a cat' },
    ],
  }),
};
const corpus = path.join(tmp, 'corpus.jsonl');
fs.writeFileSync(corpus, Object.values(activities).map((a) => JSON.stringify(a)).join('\n') + '\n');

function startServer() {
  const child = spawn(fedwalld, [
    '--listen', '127.0.0.1:0', '--admin-http-listen', '127.0.0.1:0',
    '--policy', path.join(tmp, 'policy'), '--store', path.join(tmp, 'fedwall.db'),
    '--admin-token-file', path.join(tmp, 'admin-token'), '--no-watch', '--workers', '2',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve, reject) => {
    const found = {};
    const timer = setTimeout(() => reject(new Error(`fedwalld did not start in 30 s:\n${stderr}`)), 30000);
    child.on('exit', (code) => reject(new Error(`fedwalld exited with ${code}:\n${stderr}`)));
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      let m;
      if ((m = /^listening on (\S+)$/.exec(line))) found.grpc = m[1];
      if ((m = /^admin http listening on (\S+)$/.exec(line))) found.http = m[1];
      if (found.grpc && found.http) {
        clearTimeout(timer);
        resolve({ child, ...found, stderr: () => stderr });
      }
    });
  });
}

function run(binary, args) {
  return new Promise((resolve) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('exit', (code) => resolve({ code, out }));
  });
}

let server;
let browser;
try {
  server = await startServer();
  const origin = `http://${server.http}`;
  console.log(`fedwalld: gRPC ${server.grpc}, admin http ${origin}`);

  const bench = await run(fedwall, ['bench', '--server', server.grpc, '--mode', 'unary', '--corpus', corpus,
    '--count', '4', '--concurrency', '2', '--store-flags', '--duration', '1s', '--warmup', '0s']);
  check(bench.code === 0, `fedwall bench --store-flags filled the queue (exit ${bench.code})`);
  if (bench.code !== 0) console.log(bench.out);

  // ---- the browser ----------------------------------------------------------------------------
  const profile = fs.mkdtempSync(path.join(tmp, 'profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  browser = context;
  const page = context.pages()[0] || await context.newPage();
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });

  // Not logged in: the API refuses.
  const anonymous = await context.request.get(`${origin}/api/flags`);
  check(anonymous.status() === 401, `GET /api/flags without a session is 401 (got ${anonymous.status()})`);

  const response = await page.goto(origin);
  const headers = response.headers();
  check((headers['content-security-policy'] || '').includes("default-src 'none'") &&
        headers['content-security-policy'].includes("script-src 'self'"), 'the page has a strict CSP');
  check(headers['x-content-type-options'] === 'nosniff', 'X-Content-Type-Options: nosniff');
  check(headers['x-frame-options'] === 'DENY', 'X-Frame-Options: DENY');
  await page.waitForSelector('#login:not([hidden])');
  check(await page.isVisible('#token'), 'the login form is shown');

  await page.fill('#token', 'wrong-token');
  await page.click('#login-form button[type=submit]');
  await page.waitForFunction(() => document.getElementById('login-error').textContent.includes('wrong token'));
  check(true, 'a wrong token shows "wrong token"');
  check(!page.url().includes(token) && !page.url().includes('wrong-token'), 'no token in the URL');

  await page.fill('#token', token);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#review:not([hidden])');
  await page.waitForFunction(() => document.querySelectorAll('#queue-list li').length >= 4, null, { timeout: 10000 });
  const cookies = await context.cookies(origin);
  const session = cookies.find((c) => c.name === 'fedwall_session');
  check(session && session.httpOnly && session.sameSite === 'Strict', 'session cookie is HttpOnly, SameSite=Strict');
  check(!requests.some((u) => u.includes(token)), 'the token never appears in a request URL');
  check(requests.every((u) => u.startsWith(origin) || u.startsWith('data:')), 'no request leaves the page\'s origin');

  // Flag ids by actor domain, from the API with the page's session.
  const listed = await (await context.request.get(`${origin}/api/flags?status=pending`)).json();
  const idOf = {};
  for (const f of listed.flags) idOf[f.actor_domain] = f.id;
  check(['a.example', 'spam.example', 'c.example', 'hostile.example'].every((d) => idOf[d]),
        `four pending flags listed (${JSON.stringify(idOf)})`);

  // ---- the hostile post ---------------------------------------------------------------------
  await page.click(`#queue-list li[data-id="${idOf['hostile.example']}"]`);
  await page.waitForFunction((id) => document.getElementById('d-id').textContent === `#${id}`, idOf['hostile.example']);
  await page.waitForTimeout(300);  // give any injected handler a chance to run
  const hostile = await page.evaluate(() => ({
    pwned: window.__pwned,
    scripts: document.querySelectorAll('#post script, #post img, #post svg, #post iframe, #post style, #post [style]').length,
    handlers: [...document.querySelectorAll('#post *')].filter((e) => [...e.attributes].some((a) => a.name.startsWith('on'))).length,
    hrefs: [...document.querySelectorAll('#post a')].map((a) => a.getAttribute('href')),
    text: document.getElementById('post').textContent,
    marks: [...document.querySelectorAll('#post mark')].map((m) => m.textContent),
    pageScripts: [...document.scripts].map((s) => s.src),
  }));
  check(hostile.pwned === undefined, 'window.__pwned is undefined after rendering the hostile post');
  check(hostile.scripts === 0, 'no script/img/svg/iframe/style element from the post is in the DOM');
  check(hostile.handlers === 0, 'no on* attribute in the rendered post');
  check(hostile.hrefs.length > 0 && hostile.hrefs.every((h) => /^https?:\/\//.test(h)),
        `every link is http(s): ${JSON.stringify(hostile.hrefs)}`);
  check(hostile.hrefs.includes('https://safe.example/page'), 'the safe link is kept');
  check(hostile.text.includes('<script>window.__pwned=1</script> stays text'), 'escaped markup is shown as text');
  check(hostile.marks.some((m) => m.toLowerCase() === 'free crypto'), `the evidence is highlighted (${JSON.stringify(hostile.marks)})`);
  check(hostile.pageScripts.length === 1 && hostile.pageScripts[0] === `${origin}/app.js`, 'the only script is /app.js');
  check(dialogs.length === 0, `no dialog opened (${JSON.stringify(dialogs)})`);
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });

  // ---- decisions ----------------------------------------------------------------------------
  const gone = (id) => page.waitForSelector(`#queue-list li[data-id="${id}"]`, { state: 'detached', timeout: 10000 });
  const open = async (id) => {
    await page.click(`#queue-list li[data-id="${id}"]`);
    await page.waitForFunction((x) => document.getElementById('d-id').textContent === `#${x}`, id);
  };

  await page.fill('#moderator', 'browser-test');
  await page.dispatchEvent('#moderator', 'change');
  await open(idOf['a.example']);
  await page.fill('#note', 'fine by me');
  await page.click('#approve');
  await gone(idOf['a.example']);
  check(true, 'Approve (button) took the flag out of the pending queue');

  await open(idOf['spam.example']);
  await page.focus('#queue-list');  // keyboard shortcuts work when no text field has focus
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  await page.keyboard.press('b');
  await gone(idOf['spam.example']);
  check(true, 'b (remove and block domain) took the flag out of the pending queue');

  await open(idOf['c.example']);
  await page.click('#remove');
  await gone(idOf['c.example']);
  check(true, 'Remove (button) took the flag out of the pending queue');

  await page.keyboard.press('?');
  check(await page.isVisible('#help'), '? shows the keyboard help');
  await page.keyboard.press('Escape');

  // ---- the store, through the API -------------------------------------------------------------
  const approved = await (await context.request.get(`${origin}/api/flags?status=approved`)).json();
  const removed = await (await context.request.get(`${origin}/api/flags?status=removed`)).json();
  const a = approved.flags.find((f) => f.id === idOf['a.example']);
  check(a && a.moderator === 'browser-test' && a.note === 'fine by me', 'the approved flag is stored with moderator and note');
  check(removed.flags.some((f) => f.id === idOf['spam.example']) && removed.flags.some((f) => f.id === idOf['c.example']),
        'both removed flags are stored as removed');
  const blocked = await (await context.request.get(`${origin}/api/flags/${idOf['spam.example']}`)).json();
  check(blocked.domain.blocked && blocked.domain.severity === 'suspend' && blocked.domain.api_block,
        'spam.example is suspended by an API block in the live policy');
  const notBlocked = await (await context.request.get(`${origin}/api/flags/${idOf['c.example']}`)).json();
  check(!notBlocked.domain.blocked, 'c.example (plain remove) is not blocked');
  const pending = await (await context.request.get(`${origin}/api/flags?status=pending`)).json();
  check(pending.flags.length === 1 && pending.flags[0].id === idOf['hostile.example'], 'only the hostile flag is still pending');

  // CSRF: a POST without the custom header is refused, even with the session cookie.
  const forged = await context.request.post(`${origin}/api/flags/${idOf['hostile.example']}/resolve`, {
    data: { resolution: 'approve' },
  });
  check(forged.status() === 403, `a POST without X-Fedwall-Request is 403 (got ${forged.status()})`);

  // /metrics from loopback needs no token.
  const metrics = await fetch(`${origin}/metrics`);
  const metricsText = await metrics.text();
  check(metrics.status === 200 && /fedwall_decisions_total\{verdict="FLAG"\} [1-9]/.test(metricsText),
        '/metrics from loopback answers fedwall_decisions_total');

  // Log out: the session is gone.
  await page.click('#logout');
  await page.waitForSelector('#login:not([hidden])');
  const after = await context.request.get(`${origin}/api/flags`);
  check(after.status() === 401, 'after logging out the API is 401 again');
  check(!server.stderr().includes(token), 'the token is never written to the log');
  check(consoleErrors.filter((e) => !e.includes('401')).length === 0,
        `no console errors (${JSON.stringify(consoleErrors)})`);
} catch (e) {
  failures++;
  console.log(`FAIL  ${e.stack || e}`);
  if (server) console.log(server.stderr());
} finally {
  if (browser) await browser.close().catch(() => {});
  if (server) {
    server.child.removeAllListeners('exit');
    server.child.kill('SIGTERM');
    await new Promise((r) => { server.child.once('exit', r); setTimeout(r, 10000); });
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}

console.log(failures === 0 ? 'PASSED' : `${failures} check(s) FAILED`);
process.exit(failures === 0 ? 0 : 1);
