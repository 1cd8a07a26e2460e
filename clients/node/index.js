'use strict';
// @fedwall/client: a small client for fedwalld's PolicyService (proto/fedwall/v1).
//
// CommonJS on purpose: a CommonJS package can be require()d by CommonJS hosts and imported by
// ES-module hosts (Misskey and Sharkey are ESM; older Firefish/Iceshrimp builds and many
// plugins are not), while an ESM-only package cannot be require()d on Node < 22.
//
// The contract of this module: transport and server failures never throw. They become a
// result with failed = true whose verdict follows failMode ('open' → accept, 'closed' →
// reject). Only programmer errors (no activity, a fact of the wrong type, bad options) throw
// (a TypeError / RangeError; from the async methods, as a rejected promise).

const fs = require('node:fs');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_FILE = path.join('fedwall', 'v1', 'policy_service.proto');

// Where the .proto files are: the package's own copy (made by `npm pack` / publish, see
// scripts/copy-protos.cjs), then the repository's proto/ when used from a checkout.
function findProtoRoot(explicit) {
  const candidates = explicit
    ? [explicit]
    : [path.join(__dirname, 'proto'), path.join(__dirname, '..', '..', 'proto')];
  for (const dir of candidates) {
    if (fs.existsSync(path.join(dir, PROTO_FILE))) return dir;
  }
  throw new Error(`fedwall protos not found: no ${PROTO_FILE} under ${candidates.join(' or ')}`);
}

const serviceCache = new Map();
function loadService(protoDir) {
  const root = findProtoRoot(protoDir);
  if (!serviceCache.has(root)) {
    const definition = protoLoader.loadSync(PROTO_FILE, {
      includeDirs: [root],
      keepCase: false, // camelCase field names, as in the public API
      longs: Number, // uint64/int64 fit a double in every value fedwalld sends (seconds)
      enums: String,
      defaults: true, // absent repeated/string fields come back as [] / ''
    });
    const pkg = grpc.loadPackageDefinition(definition);
    serviceCache.set(root, pkg.fedwall.v1.PolicyService);
  }
  return serviceCache.get(root);
}

const VERDICTS = { VERDICT_ACCEPT: 'accept', VERDICT_FLAG: 'flag', VERDICT_REJECT: 'reject' };

// gRPC's numeric status → its canonical name (grpc.status is a TS enum with reverse mapping).
function statusName(code) {
  return typeof code === 'number' && typeof grpc.status[code] === 'string' ? grpc.status[code] : 'UNKNOWN';
}

// ---- request conversion (throws TypeError: these are the caller's mistakes) --------------------

function activityBytes(activity) {
  if (Buffer.isBuffer(activity)) return activity;
  if (activity instanceof Uint8Array) return Buffer.from(activity.buffer, activity.byteOffset, activity.byteLength);
  if (typeof activity === 'string') return Buffer.from(activity, 'utf8');
  if (activity !== null && typeof activity === 'object') return Buffer.from(JSON.stringify(activity), 'utf8');
  throw new TypeError('fedwall: activity must be an object, a JSON string or a Buffer');
}

function timestamp(value, name) {
  let ms;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'string') ms = Date.parse(value);
  else if (typeof value === 'number') ms = value;
  else throw new TypeError(`fedwall: ${name} must be a Date, an ISO 8601 string or epoch milliseconds`);
  if (!Number.isFinite(ms)) throw new TypeError(`fedwall: ${name} is not a valid time: ${String(value)}`);
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

function count(value, name) {
  if (typeof value === 'bigint') {
    if (value < 0n) throw new TypeError(`fedwall: ${name} must not be negative`);
    return value.toString();
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`fedwall: ${name} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

function bool(value, name) {
  if (typeof value !== 'boolean') throw new TypeError(`fedwall: ${name} must be a boolean`);
  return value;
}

function str(value, name) {
  if (typeof value !== 'string') throw new TypeError(`fedwall: ${name} must be a string`);
  return value;
}

// camelCase key → converter. Unknown keys throw: a misspelt fact would otherwise silently be
// "unknown" to every rule that uses it.
const DELIVERY_FIELDS = {
  senderDomain: str,
  remoteIp: str,
  signatureVerified: bool,
  receivedAt: timestamp,
};
const ACTOR_FIELDS = {
  createdAt: timestamp,
  followersCount: count,
  followingCount: count,
  statusesCount: count,
  bot: bool,
  followedByLocalUsers: bool,
  displayName: str,
  bio: str,
};

// null/undefined values are left out, so they stay unknown (proto3 `optional` keeps
// absence apart from zero/false).
function facts(input, fields, what) {
  if (input === undefined || input === null) return undefined;
  if (typeof input !== 'object' || Array.isArray(input)) throw new TypeError(`fedwall: ${what} must be an object`);
  const out = {};
  for (const [key, value] of Object.entries(input)) {
    const convert = fields[key];
    if (!convert) {
      throw new TypeError(`fedwall: unknown ${what} fact "${key}" (known: ${Object.keys(fields).join(', ')})`);
    }
    if (value !== undefined && value !== null) out[key] = convert(value, `${what}.${key}`);
  }
  return out;
}

function deadlineOf(ms, name) {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) {
    throw new RangeError(`fedwall: ${name} must be a positive number of milliseconds`);
  }
  return ms;
}

function buildRequest(activity, options) {
  if (activity === undefined || activity === null) throw new TypeError('fedwall: evaluate needs an activity');
  const opts = options ?? {};
  if (typeof opts !== 'object') throw new TypeError('fedwall: options must be an object');
  const request = { requestId: '', activityJson: activityBytes(activity), dryRun: false };
  if (opts.requestId !== undefined) request.requestId = str(opts.requestId, 'requestId');
  if (opts.dryRun !== undefined) request.dryRun = bool(opts.dryRun, 'dryRun');
  const delivery = facts(opts.delivery, DELIVERY_FIELDS, 'delivery');
  if (delivery) request.delivery = delivery;
  const actor = facts(opts.actor, ACTOR_FIELDS, 'actor');
  if (actor) request.actor = actor;
  return request;
}

// ---- response conversion -------------------------------------------------------------------

function convertMatch(m) {
  return {
    ruleId: m.ruleId,
    reason: m.reason,
    score: m.score,
    monitor: m.monitor,
    evidence: (m.evidence || []).map((e) => ({ field: e.field, text: e.text, start: e.start, end: e.end })),
  };
}

function effectName(e) {
  // EFFECT_MARK_SENSITIVE → mark_sensitive: the rule language's spelling.
  return String(e).toLowerCase().replace(/^effect_/, '');
}

class FedwallClient {
  /**
   * @param {object} options see index.d.ts (address, deadlineMs, failMode, tls, protoDir,
   *   maxBatchItems, channelOptions)
   */
  constructor(options) {
    if (!options || typeof options !== 'object') throw new TypeError('fedwall: FedwallClient needs options');
    const { address, deadlineMs = 250, failMode = 'open', tls, protoDir, maxBatchItems = 1024, channelOptions } = options;
    if (typeof address !== 'string' || address === '') throw new TypeError('fedwall: address must be "host:port"');
    if (failMode !== 'open' && failMode !== 'closed') throw new TypeError("fedwall: failMode must be 'open' or 'closed'");
    if (!Number.isSafeInteger(maxBatchItems) || maxBatchItems < 1) throw new RangeError('fedwall: maxBatchItems must be a positive integer');
    this.address = address;
    this.deadlineMs = deadlineOf(deadlineMs, 'deadlineMs');
    this.failMode = failMode;
    this.maxBatchItems = maxBatchItems;
    this._closed = false;
    this._batchers = new Set();

    let credentials;
    if (tls) {
      const pem = (v, name) => {
        if (v === undefined || v === null) return null;
        if (typeof v === 'string') return Buffer.from(v);
        if (Buffer.isBuffer(v)) return v;
        throw new TypeError(`fedwall: tls.${name} must be PEM text (string or Buffer)`);
      };
      credentials = grpc.credentials.createSsl(pem(tls.ca, 'ca'), pem(tls.key, 'key'), pem(tls.cert, 'cert'));
    } else {
      credentials = grpc.credentials.createInsecure();
    }
    const Service = loadService(protoDir);
    this._stub = new Service(address, credentials, {
      // Large batches with evidence can exceed grpc-js's 4 MiB default; fedwalld allows 16 MiB.
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
      // fedwalld is a sidecar: after a restart, reconnect within seconds, not grpc's 2 minutes
      // (every call fails by failMode until the channel is back).
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 2000,
      ...channelOptions,
    });
  }

  /** The result a failed call gets: the failMode verdict, failed = true, and why. */
  _failed(error, requestId = '') {
    return {
      requestId,
      verdict: this.failMode === 'open' ? 'accept' : 'reject',
      effects: [],
      score: 0,
      matches: [],
      policyVersion: '',
      flagId: '',
      failed: true,
      error,
    };
  }

  _result(resp, requestId) {
    if (!resp) return this._failed({ code: 'INTERNAL', message: 'no response for this item' }, requestId);
    if (resp.error && resp.error.code) {
      return this._failed({ code: resp.error.code, message: resp.error.message }, resp.requestId || requestId);
    }
    const verdict = VERDICTS[resp.verdict];
    if (!verdict) {
      return this._failed({ code: 'UNKNOWN', message: `no verdict in the response (${resp.verdict})` }, resp.requestId || requestId);
    }
    return {
      requestId: resp.requestId,
      verdict,
      effects: (resp.effects || []).map(effectName),
      score: resp.score,
      matches: (resp.matches || []).map(convertMatch),
      policyVersion: resp.policyVersion,
      flagId: resp.flagId,
      failed: false,
    };
  }

  // One unary call; resolves with the response or rejects with { code, message }.
  _call(method, request, deadline) {
    return new Promise((resolve, reject) => {
      if (this._closed) {
        reject({ code: 'CANCELLED', message: 'the fedwall client is closed' });
        return;
      }
      try {
        this._stub[method](request, { deadline }, (err, resp) => {
          if (err) reject({ code: statusName(err.code), message: err.details || err.message });
          else resolve(resp);
        });
      } catch (err) {
        // grpc-js throws synchronously when the channel was closed under us.
        reject({ code: this._closed ? 'CANCELLED' : 'INTERNAL', message: err.message });
      }
    });
  }

  /**
   * Decides on one activity. Never rejects for transport or server failures; see index.d.ts.
   */
  async evaluate(activity, options = {}) {
    const request = buildRequest(activity, options);
    const deadlineMs = options && options.deadlineMs !== undefined ? deadlineOf(options.deadlineMs, 'deadlineMs') : this.deadlineMs;
    try {
      const resp = await this._call('Evaluate', request, Date.now() + deadlineMs);
      return this._result(resp, request.requestId);
    } catch (error) {
      return this._failed(error, request.requestId);
    }
  }

  /** EvaluateBatch for already-built requests; one result per request, in order; never rejects. */
  async _batch(requests, deadline) {
    const chunks = [];
    for (let i = 0; i < requests.length; i += this.maxBatchItems) chunks.push(requests.slice(i, i + this.maxBatchItems));
    const parts = await Promise.all(chunks.map(async (chunk) => {
      try {
        const resp = await this._call('EvaluateBatch', { requests: chunk }, deadline);
        const responses = resp.responses || [];
        return chunk.map((req, k) => this._result(responses[k], req.requestId));
      } catch (error) {
        return chunk.map((req) => this._failed(error, req.requestId));
      }
    }));
    return parts.flat();
  }

  /**
   * Decides on many activities in one EvaluateBatch call (split past maxBatchItems).
   * items: [{ activity, delivery?, actor?, dryRun?, requestId? }]. Results in the same order.
   */
  async evaluateBatch(items, options = {}) {
    if (!Array.isArray(items)) throw new TypeError('fedwall: evaluateBatch needs an array of { activity, ... }');
    const requests = items.map((item, i) => {
      if (!item || typeof item !== 'object' || !('activity' in item)) {
        throw new TypeError(`fedwall: evaluateBatch item ${i} must be { activity, ... }`);
      }
      return buildRequest(item.activity, item);
    });
    const deadlineMs = options && options.deadlineMs !== undefined ? deadlineOf(options.deadlineMs, 'deadlineMs') : this.deadlineMs;
    if (requests.length === 0) return [];
    return this._batch(requests, Date.now() + deadlineMs);
  }

  /** A helper that groups concurrent evaluate() calls into EvaluateBatch calls. */
  batcher(options = {}) {
    const b = new Batcher(this, options);
    this._batchers.add(b);
    return b;
  }

  /** Flushes every batcher, waits for their calls, then closes the channel. Idempotent. */
  async close() {
    if (this._closing) return this._closing;
    this._closing = (async () => {
      await Promise.all([...this._batchers].map((b) => b.close()));
      this._closed = true;
      this._stub.close();
    })();
    return this._closing;
  }
}

class Batcher {
  constructor(client, options) {
    const { maxBatch = 64, maxDelayMs = 2, maxQueued = 10000, deadlineMs = client.deadlineMs } = options ?? {};
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) throw new RangeError('fedwall: maxBatch must be a positive integer');
    if (typeof maxDelayMs !== 'number' || !(maxDelayMs >= 0)) throw new RangeError('fedwall: maxDelayMs must be >= 0');
    if (!Number.isSafeInteger(maxQueued) || maxQueued < 1) throw new RangeError('fedwall: maxQueued must be a positive integer');
    this._client = client;
    this.maxBatch = Math.min(maxBatch, client.maxBatchItems);
    this.maxDelayMs = maxDelayMs;
    this.maxQueued = maxQueued;
    this.deadlineMs = deadlineOf(deadlineMs, 'deadlineMs');
    this._pending = []; // { request, deadline, resolve } not yet sent
    this._inFlight = new Set(); // promises of batches being sent
    this._outstanding = 0; // pending + in flight: what maxQueued bounds
    this._timer = null;
    this._closed = false;
    this._stats = { batches: 0, items: 0, refused: 0 };
  }

  /** Counters: EvaluateBatch calls made, items sent, items refused (queue full or closed). */
  get stats() {
    return { ...this._stats, queued: this._pending.length, outstanding: this._outstanding };
  }

  /**
   * Like FedwallClient.evaluate, but grouped with other calls. Resolves with the failMode
   * result (error.code RESOURCE_EXHAUSTED) when maxQueued items are already waiting, and
   * CANCELLED once closed.
   */
  evaluate(activity, options = {}) {
    let request;
    let deadlineMs;
    try {
      request = buildRequest(activity, options);
      deadlineMs = options && options.deadlineMs !== undefined ? deadlineOf(options.deadlineMs, 'deadlineMs') : this.deadlineMs;
    } catch (err) {
      return Promise.reject(err);
    }
    if (this._closed) {
      this._stats.refused++;
      return Promise.resolve(this._client._failed({ code: 'CANCELLED', message: 'the batcher is closed' }, request.requestId));
    }
    if (this._outstanding >= this.maxQueued) {
      this._stats.refused++;
      return Promise.resolve(this._client._failed(
        { code: 'RESOURCE_EXHAUSTED', message: `more than ${this.maxQueued} evaluations waiting` }, request.requestId));
    }
    return new Promise((resolve) => {
      this._pending.push({ request, deadline: Date.now() + deadlineMs, resolve });
      this._outstanding++;
      if (this._pending.length >= this.maxBatch) this._flush();
      else if (!this._timer) this._timer = setTimeout(() => this._flush(), this.maxDelayMs);
    });
  }

  _flush() {
    if (this._timer) {
      clearTimeout(this._timer);
      this._timer = null;
    }
    while (this._pending.length > 0) {
      const items = this._pending.splice(0, this.maxBatch);
      const sent = this._send(items);
      this._inFlight.add(sent);
      sent.finally(() => this._inFlight.delete(sent));
    }
  }

  async _send(items) {
    this._stats.batches++;
    this._stats.items += items.length;
    // The batch may not outlive the earliest caller's deadline (each item's clock started
    // when it was queued, so the wait for the batch counts too).
    const deadline = Math.min(...items.map((it) => it.deadline));
    let results;
    try {
      results = await this._client._batch(items.map((it) => it.request), deadline);
    } catch (err) {
      // _batch never rejects; this is a last guard so no caller is left hanging.
      results = items.map((it) => this._client._failed({ code: 'INTERNAL', message: String(err) }, it.request.requestId));
    }
    items.forEach((it, k) => {
      this._outstanding--;
      it.resolve(results[k]);
    });
  }

  /** Sends what is queued, waits for every call in flight; later evaluate() calls fail by failMode. */
  async close() {
    this._closed = true;
    this._flush();
    while (this._inFlight.size > 0) await Promise.all([...this._inFlight]);
    this._client._batchers.delete(this);
  }
}

module.exports = { FedwallClient, Batcher, findProtoRoot };
