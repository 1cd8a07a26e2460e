// Tests of @fedwall/client against a real fedwalld (node --test). Run through test/run.mjs, or
// directly with the environment FEDWALLD=path/to/fedwalld FEDWALL_FIXTURES=tests/fixtures/service.
//
// Every server gets its own temporary directory: a copy of the fixture policy plus rules that
// use request facts, a fresh review store and an admin token (the tests read the review
// queue through the AdminService to see what was stored).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

// The ES-module import of the CommonJS package: what Misskey and Sharkey do.
import { FedwallClient, findProtoRoot } from '../index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = path.join(here, '..');
const require = createRequire(path.join(pkg, 'package.json'));
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const FEDWALLD = process.env.FEDWALLD;
const FIXTURES = process.env.FEDWALL_FIXTURES || path.join(pkg, '..', '..', 'tests', 'fixtures', 'service');
if (!FEDWALLD || !fs.existsSync(FEDWALLD)) throw new Error('set FEDWALLD to the fedwalld binary (or use test/run.mjs)');

// Every unhandled rejection is a bug of the client (it must never leave one behind).
const unhandled = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(condition, what, timeoutMs = 10000) {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

// ---- fixtures ----------------------------------------------------------------------------------

const FACT_RULES = `
# Added by the Node client's tests: rules that only fire on request facts.
rule few_followers "Account with few followers" {
  when  type == "Create" and actor.followers < 3
  then  unlist
}

rule young_account "Account younger than a day" {
  when  type == "Create" and actor.age < 1d
  then  mark_sensitive
}

rule bad_relay "Signed delivery from a known-bad relay" {
  when  origin.domain == "relay.bad.example" and origin.signed
  then  reject
}
`;

let nextNumber = 5000;
// A fresh variant of a fixture activity: its own id (so flags are not deduplicated).
function activity(name, host = 'mastodon.example') {
  const text = fs.readFileSync(path.join(FIXTURES, 'activities', `${name}.json`), 'utf8');
  return JSON.parse(text.replaceAll('1001', String(nextNumber++)).replaceAll('mastodon.example', host));
}

function makeServerDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedwall-node-client-'));
  fs.cpSync(path.join(FIXTURES, 'policy'), path.join(dir, 'policy'), { recursive: true });
  fs.appendFileSync(path.join(dir, 'policy', 'main.rules'), FACT_RULES);
  const token = `tok-${Math.random().toString(36).slice(2)}-${Date.now()}`;
  fs.writeFileSync(path.join(dir, 'admin-token'), `${token}\n`, { mode: 0o600 });
  return { dir, token };
}

const servers = [];
// Starts fedwalld on 127.0.0.1:port (0: any) and resolves once it prints its address.
function startServer({ dir, token } = makeServerDir(), { port = 0, extraArgs = [] } = {}) {
  const child = spawn(FEDWALLD, [
    '--listen', `127.0.0.1:${port}`, '--policy', path.join(dir, 'policy'),
    '--store', path.join(dir, 'fedwall.db'), '--admin-token-file', path.join(dir, 'admin-token'),
    '--no-watch', '--workers', '2', ...extraArgs,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const server = { child, dir, token, exited: false };
  servers.push(server);
  child.on('exit', () => { server.exited = true; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fedwalld did not start in 20 s:\n${stderr}`)), 20000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`fedwalld exited (${code ?? signal}) before listening:\n${stderr}`));
    });
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /^listening on (\S+)$/.exec(line);
      if (m) {
        clearTimeout(timer);
        server.address = m[1];
        server.port = Number(m[1].split(':').pop());
        resolve(server);
      }
    });
  });
}

function stopServer(server) {
  if (server.exited) return Promise.resolve();
  return new Promise((resolve) => {
    server.child.once('exit', resolve);
    server.child.kill('SIGTERM');
  });
}

after(async () => {
  await Promise.all(servers.map(stopServer));
  for (const s of servers) fs.rmSync(s.dir, { recursive: true, force: true });
});

// The review queue as the AdminService reports it (what was really stored).
async function listFlags(server) {
  const def = protoLoader.loadSync('fedwall/v1/admin_service.proto', { includeDirs: [findProtoRoot()], keepCase: false, defaults: true });
  const Admin = grpc.loadPackageDefinition(def).fedwall.v1.AdminService;
  const admin = new Admin(server.address, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${server.token}`);
  try {
    return await new Promise((resolve, reject) => {
      admin.ListFlags({ pageSize: 1000 }, md, { deadline: Date.now() + 5000 },
        (err, resp) => (err ? reject(err) : resolve(resp.flags)));
    });
  } finally {
    admin.close();
  }
}

// An address where nothing listens: bind a port, then free it.
async function deadAddress() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return `127.0.0.1:${port}`;
}

// ---- against a running fedwalld ----------------------------------------------------------------

describe('evaluate against fedwalld', () => {
  let server;
  let client;
  before(async () => {
    server = await startServer();
    client = new FedwallClient({ address: server.address, deadlineMs: 5000 });
  });
  after(() => client.close());

  it('accepts a clean note', async () => {
    const r = await client.evaluate(activity('clean-note'), { requestId: 'clean-1' });
    assert.equal(r.failed, false, JSON.stringify(r.error));
    assert.equal(r.verdict, 'accept');
    assert.equal(r.requestId, 'clean-1');
    assert.deepEqual(r.effects, []);
    assert.deepEqual(r.matches, []);
    assert.equal(r.flagId, '');
    assert.match(r.policyVersion, /^[0-9a-f]{12,}$/);
    assert.equal(r.error, undefined);
  });

  it('rejects casino advertising, with the rule and its evidence', async () => {
    const r = await client.evaluate(activity('casino-note'));
    assert.equal(r.verdict, 'reject');
    assert.equal(r.failed, false);
    const m = r.matches.find((x) => x.ruleId === 'casino_ad');
    assert.ok(m, JSON.stringify(r.matches));
    assert.equal(m.reason, 'Casino advertising');
    assert.equal(m.monitor, false);
    assert.equal(typeof m.score, 'number');
    const ev = m.evidence.find((e) => e.field === 'content');
    assert.ok(ev, JSON.stringify(m.evidence));
    assert.equal(ev.text.toLowerCase(), 'casino');
    assert.equal(typeof ev.start, 'number');
    assert.equal(ev.end - ev.start, 'casino'.length);
  });

  it('takes the activity as an object, JSON text or bytes alike', async () => {
    const a = activity('casino-note');
    for (const form of [a, JSON.stringify(a), Buffer.from(JSON.stringify(a)), new TextEncoder().encode(JSON.stringify(a))]) {
      const r = await client.evaluate(form, { dryRun: true });
      assert.equal(r.verdict, 'reject', JSON.stringify(r));
    }
  });

  it('flags free crypto and stores the flag (flagId)', async () => {
    const a = activity('free-crypto-note');
    const r = await client.evaluate(a);
    assert.equal(r.verdict, 'flag');
    assert.ok(r.matches.some((m) => m.ruleId === 'free_crypto'));
    assert.notEqual(r.flagId, '');
    const flags = await listFlags(server);
    assert.ok(flags.some((f) => f.id === r.flagId), `flag ${r.flagId} not in the review queue`);
    // A redelivery of the same activity gets the same flag.
    const again = await client.evaluate(a);
    assert.equal(again.flagId, r.flagId);
  });

  it('stores nothing with dryRun', async () => {
    const before = (await listFlags(server)).length;
    const r = await client.evaluate(activity('giveaway-note'), { dryRun: true });
    assert.equal(r.verdict, 'flag');
    assert.equal(r.flagId, '');
    assert.equal((await listFlags(server)).length, before);
  });

  it('passes actor facts: counts (zero is not unknown), createdAt as Date or ISO string', async () => {
    const names = (r) => r.matches.map((m) => m.ruleId).sort();
    // No facts: the fact rules are unknown, so they do not fire.
    let r = await client.evaluate(activity('clean-note'));
    assert.deepEqual(names(r), []);
    r = await client.evaluate(activity('clean-note'), { actor: { followersCount: 0 } });
    assert.deepEqual(names(r), ['few_followers']);
    assert.deepEqual(r.effects, ['unlist']);
    assert.equal(r.verdict, 'accept');
    const ev = r.matches[0].evidence.find((e) => e.field === 'actor.followers');
    assert.equal(ev.text, 'actor.followers = 0');
    r = await client.evaluate(activity('clean-note'), { actor: { followersCount: 120, followingCount: 3n, statusesCount: 9, bot: false } });
    assert.deepEqual(names(r), []);
    r = await client.evaluate(activity('clean-note'), { actor: { createdAt: new Date(Date.now() - 3600e3), followersCount: null } });
    assert.deepEqual(names(r), ['young_account']);
    assert.deepEqual(r.effects, ['mark_sensitive']);
    r = await client.evaluate(activity('clean-note'), { actor: { createdAt: '2020-01-01T00:00:00Z' } });
    assert.deepEqual(names(r), []);
    // "Now" is the delivery's receivedAt when given: five hours after creation.
    r = await client.evaluate(activity('clean-note'), {
      actor: { createdAt: '2020-01-01T00:00:00Z', followersCount: 1, displayName: 'A', bio: '<p>hi</p>', followedByLocalUsers: true },
      delivery: { receivedAt: new Date('2020-01-01T05:00:00Z') },
    });
    assert.deepEqual(names(r), ['few_followers', 'young_account']);
    assert.deepEqual(r.effects, ['mark_sensitive', 'unlist']);
  });

  it('passes delivery facts', async () => {
    const delivery = { senderDomain: 'relay.bad.example', remoteIp: '192.0.2.7', signatureVerified: true };
    let r = await client.evaluate(activity('clean-note'), { delivery });
    assert.equal(r.verdict, 'reject');
    assert.deepEqual(r.matches.map((m) => m.ruleId), ['bad_relay']);
    r = await client.evaluate(activity('clean-note'), { delivery: { ...delivery, signatureVerified: false } });
    assert.equal(r.verdict, 'accept');
  });

  it('throws (rejects) for programmer errors only', async () => {
    await assert.rejects(client.evaluate(), TypeError);
    await assert.rejects(client.evaluate(null), TypeError);
    await assert.rejects(client.evaluate(42), TypeError);
    await assert.rejects(client.evaluate(activity('clean-note'), { actor: { followers: 3 } }), /unknown actor fact "followers"/);
    await assert.rejects(client.evaluate(activity('clean-note'), { actor: { followersCount: -1 } }), TypeError);
    await assert.rejects(client.evaluate(activity('clean-note'), { actor: { followersCount: 1.5 } }), TypeError);
    await assert.rejects(client.evaluate(activity('clean-note'), { actor: { createdAt: 'yesterday' } }), /not a valid time/);
    await assert.rejects(client.evaluate(activity('clean-note'), { delivery: { signatureVerified: 'yes' } }), TypeError);
    await assert.rejects(client.evaluate(activity('clean-note'), { deadlineMs: 0 }), RangeError);
    assert.throws(() => new FedwallClient({ address: server.address, failMode: 'maybe' }), TypeError);
    assert.throws(() => new FedwallClient({}), TypeError);
    await assert.rejects(client.evaluateBatch([{ notActivity: 1 }]), TypeError);
    await assert.rejects(client.evaluateBatch('x'), TypeError);
  });

  it('answers a malformed activity by the fail mode (server error INVALID_ARGUMENT)', async () => {
    const r = await client.evaluate('{"type": "Create",', { requestId: 'bad' });
    assert.equal(r.failed, true);
    assert.equal(r.verdict, 'accept');
    assert.equal(r.error.code, 'INVALID_ARGUMENT');
    assert.equal(r.requestId, 'bad');
    const closed = new FedwallClient({ address: server.address, failMode: 'closed', deadlineMs: 5000 });
    const c = await closed.evaluate('not json');
    assert.equal(c.verdict, 'reject');
    assert.equal(c.failed, true);
    await closed.close();
  });

  it('evaluateBatch keeps the order and reports item errors', async () => {
    const items = [
      { activity: activity('clean-note'), requestId: 'a' },
      { activity: activity('casino-note'), requestId: 'b' },
      { activity: '{ not json', requestId: 'c' },
      { activity: activity('giveaway-note'), requestId: 'd', dryRun: true },
      { activity: activity('clean-note'), requestId: 'e', actor: { followersCount: 0 } },
    ];
    const rs = await client.evaluateBatch(items);
    assert.deepEqual(rs.map((r) => r.requestId), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(rs.map((r) => r.verdict), ['accept', 'reject', 'accept', 'flag', 'accept']);
    assert.deepEqual(rs.map((r) => r.failed), [false, false, true, false, false]);
    assert.equal(rs[2].error.code, 'INVALID_ARGUMENT');
    assert.equal(rs[3].flagId, '');
    assert.deepEqual(rs[4].effects, ['unlist']);
    assert.deepEqual(await client.evaluateBatch([]), []);

    // With failMode 'closed' the bad item is a reject; and a batch larger than maxBatchItems is
    // split into several calls without changing the order.
    const closed = new FedwallClient({ address: server.address, failMode: 'closed', deadlineMs: 5000, maxBatchItems: 2 });
    const many = Array.from({ length: 7 }, (_, i) => ({
      activity: i === 5 ? 'nope' : activity(i % 2 ? 'casino-note' : 'clean-note'), requestId: `r${i}`,
    }));
    const out = await closed.evaluateBatch(many);
    assert.deepEqual(out.map((r) => r.requestId), many.map((m) => m.requestId));
    assert.deepEqual(out.map((r) => r.verdict), ['accept', 'reject', 'accept', 'reject', 'accept', 'reject', 'accept']);
    assert.equal(out[5].failed, true);
    await closed.close();
  });

  it('the batcher groups concurrent calls into few EvaluateBatch calls', async () => {
    const b = client.batcher({ maxBatch: 64, maxDelayMs: 2 });
    const kinds = Array.from({ length: 100 }, (_, i) => (i % 3 === 0 ? 'casino-note' : 'clean-note'));
    const results = await Promise.all(kinds.map((k, i) => b.evaluate(activity(k), { requestId: `q${i}`, dryRun: true })));
    results.forEach((r, i) => {
      assert.equal(r.failed, false, JSON.stringify(r.error));
      assert.equal(r.requestId, `q${i}`);
      assert.equal(r.verdict, kinds[i] === 'casino-note' ? 'reject' : 'accept');
    });
    const { batches, items } = b.stats;
    assert.equal(items, 100);
    assert.ok(batches >= 2 && batches <= 4, `100 calls took ${batches} batches`);
    await b.close();
  });

  it('the batcher bounds its queue and close() flushes', async () => {
    const b = client.batcher({ maxBatch: 64, maxDelayMs: 60000, maxQueued: 5 });
    const started = Date.now();
    const ps = Array.from({ length: 8 }, (_, i) => b.evaluate(activity('casino-note'), { requestId: `z${i}`, dryRun: true }));
    // The first five wait for the batch (60 s away); the others are refused at once.
    const refused = await Promise.all(ps.slice(5));
    for (const r of refused) {
      assert.equal(r.failed, true);
      assert.equal(r.verdict, 'accept');
      assert.equal(r.error.code, 'RESOURCE_EXHAUSTED');
    }
    assert.equal(b.stats.queued, 5);
    await b.close(); // sends the five now
    const sent = await Promise.all(ps.slice(0, 5));
    assert.ok(sent.every((r) => r.verdict === 'reject' && !r.failed));
    assert.ok(Date.now() - started < 5000);
    const late = await b.evaluate(activity('casino-note'));
    assert.equal(late.failed, true);
    assert.equal(late.error.code, 'CANCELLED');
    await assert.rejects(b.evaluate(undefined), TypeError);
  });

  it('client.close() flushes its batchers, then later calls fail by the fail mode', async () => {
    const c = new FedwallClient({ address: server.address, deadlineMs: 5000, failMode: 'closed' });
    const b = c.batcher({ maxDelayMs: 60000 });
    const p = b.evaluate(activity('clean-note'), { dryRun: true });
    await c.close();
    assert.equal((await p).verdict, 'accept');
    const r = await c.evaluate(activity('clean-note'));
    assert.equal(r.failed, true);
    assert.equal(r.verdict, 'reject');
    assert.equal(r.error.code, 'CANCELLED');
  });
});

// ---- failures ------------------------------------------------------------------------------

describe('failures never throw', () => {
  it('nobody listening: fail open (accept) and closed (reject), well within a second', async () => {
    const address = await deadAddress();
    for (const [failMode, verdict] of [['open', 'accept'], ['closed', 'reject']]) {
      const c = new FedwallClient({ address, failMode });
      for (let i = 0; i < 3; i++) {
        const t0 = Date.now();
        const r = await c.evaluate(activity('casino-note'));
        assert.ok(Date.now() - t0 < 600, `took ${Date.now() - t0} ms`);
        assert.equal(r.failed, true);
        assert.equal(r.verdict, verdict);
        assert.ok(['UNAVAILABLE', 'DEADLINE_EXCEEDED'].includes(r.error.code), r.error.code);
        assert.equal(typeof r.error.message, 'string');
      }
      const t0 = Date.now();
      const batch = await c.evaluateBatch([{ activity: activity('clean-note') }, { activity: activity('casino-note') }]);
      assert.deepEqual(batch.map((r) => [r.verdict, r.failed]), [[verdict, true], [verdict, true]]);
      const b = c.batcher();
      const viaBatcher = await Promise.all([b.evaluate(activity('clean-note')), b.evaluate(activity('clean-note'))]);
      assert.ok(viaBatcher.every((r) => r.failed && r.verdict === verdict));
      assert.ok(Date.now() - t0 < 1000);
      await c.close();
    }
  });

  it('a server that never answers: DEADLINE_EXCEEDED after deadlineMs', async () => {
    // Accepts TCP connections but never speaks HTTP/2.
    const sockets = new Set();
    const blackHole = net.createServer((s) => { sockets.add(s); s.on('error', () => {}); });
    await new Promise((r) => blackHole.listen(0, '127.0.0.1', r));
    const c = new FedwallClient({ address: `127.0.0.1:${blackHole.address().port}`, deadlineMs: 150, failMode: 'closed' });
    try {
      const t0 = Date.now();
      const r = await c.evaluate(activity('clean-note'));
      const took = Date.now() - t0;
      assert.equal(r.failed, true);
      assert.equal(r.verdict, 'reject');
      assert.equal(r.error.code, 'DEADLINE_EXCEEDED');
      assert.ok(took >= 140 && took < 900, `took ${took} ms`);
      const t1 = Date.now();
      const fast = await c.evaluate(activity('clean-note'), { deadlineMs: 50 });
      assert.equal(fast.error.code, 'DEADLINE_EXCEEDED');
      assert.ok(Date.now() - t1 < 600);
      // The batcher's calls keep their deadline too (counted from evaluate(), the wait for
      // the batch included).
      const b = c.batcher({ maxDelayMs: 50, deadlineMs: 150 });
      const t2 = Date.now();
      const viaBatcher = await Promise.all([b.evaluate(activity('clean-note')), b.evaluate(activity('clean-note'))]);
      assert.ok(viaBatcher.every((x) => x.failed && x.verdict === 'reject' && x.error.code === 'DEADLINE_EXCEEDED'));
      assert.ok(Date.now() - t2 < 600, `batcher took ${Date.now() - t2} ms`);
    } finally {
      await c.close();
      for (const s of sockets) s.destroy();
      blackHole.close();
    }
  });

  it('fedwalld killed mid-run: the fail mode applies, and the client recovers after a restart', async () => {
    const server = await startServer();
    const open = new FedwallClient({ address: server.address, deadlineMs: 1000 });
    const closed = new FedwallClient({ address: server.address, deadlineMs: 1000, failMode: 'closed' });
    const batcher = open.batcher({ maxBatch: 16, maxDelayMs: 1 });
    const callers = { open: (a) => open.evaluate(a, { dryRun: true }), closed: (a) => closed.evaluate(a, { dryRun: true }), batcher: (a) => batcher.evaluate(a, { dryRun: true }) };
    const results = [];
    let stop = false;
    const loops = [];
    for (const [kind, call] of Object.entries(callers)) {
      for (let w = 0; w < 4; w++) {
        loops.push((async () => {
          while (!stop) {
            const name = results.length % 2 ? 'casino-note' : 'clean-note';
            const r = await call(activity(name));
            results.push({ kind, name, r });
            if (r.failed) await sleep(2); // do not spin while the server is down
          }
        })());
      }
    }
    await waitFor(() => results.filter((x) => !x.r.failed).length >= 60, 'answers before the kill');
    server.child.kill('SIGKILL');
    await waitFor(() => Object.keys(callers).every((k) => results.some((x) => x.kind === k && x.r.failed)),
      'failed answers of every kind after the kill', 5000);
    stop = true;
    await Promise.all(loops);

    for (const { kind, name, r } of results) {
      if (r.failed) {
        assert.equal(r.verdict, kind === 'closed' ? 'reject' : 'accept', JSON.stringify(r));
        assert.ok(r.error && r.error.code, JSON.stringify(r));
      } else {
        assert.equal(r.verdict, name === 'casino-note' ? 'reject' : 'accept');
      }
    }

    // Same port again: the channel reconnects on its own within a few seconds.
    const again = await startServer(server, { port: server.port });
    let r;
    const end = Date.now() + 10000;
    do {
      r = await open.evaluate(activity('casino-note'), { dryRun: true });
      if (r.failed) await sleep(50);
    } while (r.failed && Date.now() < end);
    assert.equal(r.failed, false, `no answer after the restart: ${JSON.stringify(r.error)}`);
    assert.equal(r.verdict, 'reject');
    assert.equal((await batcher.evaluate(activity('clean-note'))).verdict, 'accept');
    await Promise.all([open.close(), closed.close()]);
    await stopServer(again);
    await sleep(50);
    assert.deepEqual(unhandled, []);
  });
});

// ---- TLS, types --------------------------------------------------------------------------------

const haveOpenssl = spawnSync('openssl', ['version']).status === 0;

describe('TLS', { skip: haveOpenssl ? false : 'openssl not found' }, () => {
  it('talks to fedwalld over TLS with a private CA; plaintext fails by the fail mode', async () => {
    const srv = makeServerDir();
    const key = path.join(srv.dir, 'key.pem');
    const cert = path.join(srv.dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
      '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
    const server = await startServer(srv, { extraArgs: ['--tls-cert', cert, '--tls-key', key] });
    // By name, not IP: the certificate is checked against the name (and TLS SNI takes no IP).
    const c = new FedwallClient({ address: `localhost:${server.port}`, deadlineMs: 5000, tls: { ca: fs.readFileSync(cert) } });
    const r = await c.evaluate(activity('casino-note'), { dryRun: true });
    assert.equal(r.failed, false, JSON.stringify(r.error));
    assert.equal(r.verdict, 'reject');
    await c.close();
    const plain = new FedwallClient({ address: server.address, deadlineMs: 1000, failMode: 'closed' });
    const p = await plain.evaluate(activity('clean-note'));
    assert.equal(p.failed, true);
    assert.equal(p.verdict, 'reject');
    await plain.close();
    await stopServer(server);
  });
});

const tsc = path.join(pkg, 'node_modules', 'typescript', 'bin', 'tsc');
describe('types', { skip: fs.existsSync(tsc) ? false : 'typescript is not installed (npm ci --prefix clients/node)' }, () => {
  it('index.d.ts and the usage example type-check (tsc --noEmit)', () => {
    const out = spawnSync(process.execPath, [tsc, '-p', path.join(here, 'tsconfig.json')], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stdout + out.stderr);
  });
});

after(() => assert.deepEqual(unhandled, [], 'unhandled rejections'));
