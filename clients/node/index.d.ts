// Types of @fedwall/client (hand-written; the implementation is index.js).
/// <reference types="node" />

export type Verdict = 'accept' | 'flag' | 'reject';

/** The rule language's effect names (proto Effect without the EFFECT_ prefix, lower case). */
export type Effect = 'strip_media' | 'mark_sensitive' | 'unlist' | 'followers_only' | (string & {});

/** A time: a Date, an ISO 8601 string, or milliseconds since the epoch. */
export type TimeInput = Date | string | number;

/** A count: a non-negative safe integer (or a bigint for larger ones). */
export type CountInput = number | bigint;

/**
 * What the receiving server knows about the delivery (proto DeliveryFacts). Leave a fact out
 * (or null/undefined) when unknown: rules treat it as unknown, never as zero.
 */
export interface DeliveryFacts {
  /** Domain that delivered the activity (origin.domain), e.g. from the signature's keyId. */
  senderDomain?: string | null;
  /** Address the delivery came from (origin.ip). */
  remoteIp?: string | null;
  /** Whether the HTTP signature was verified (origin.signed). */
  signatureVerified?: boolean | null;
  /** When the delivery was received; "now" for every age the rules compute. */
  receivedAt?: TimeInput | null;
}

/** What the receiving server knows about the actor (proto ActorFacts). */
export interface ActorFacts {
  /** When the account was created (actor.age). */
  createdAt?: TimeInput | null;
  /** actor.followers */
  followersCount?: CountInput | null;
  /** actor.following */
  followingCount?: CountInput | null;
  /** actor.posts (Misskey: notesCount) */
  statusesCount?: CountInput | null;
  /** actor.bot */
  bot?: boolean | null;
  /** actor.followed: some local user follows the actor. */
  followedByLocalUsers?: boolean | null;
  /** actor.name */
  displayName?: string | null;
  /** actor.bio (HTML) */
  bio?: string | null;
}

/** An activity: parsed JSON (serialised with JSON.stringify), JSON text, or the raw body bytes. */
export type ActivityInput = object | string | Uint8Array;

export interface EvaluateOptions {
  delivery?: DeliveryFacts | null;
  actor?: ActorFacts | null;
  /** Decide, but store nothing (no review flag): flagId stays ''. */
  dryRun?: boolean;
  /** Echoed in the result. */
  requestId?: string;
  /** Overrides the client's (or batcher's) deadline for this call. */
  deadlineMs?: number;
}

export interface BatchItem extends Omit<EvaluateOptions, 'deadlineMs'> {
  activity: ActivityInput;
}

export interface Evidence {
  /** Field name in the rule language (content, actor.domain, ...). */
  field: string;
  /** The matched span (at most 256 bytes), or "field = value". */
  text: string;
  /** UTF-8 byte offsets of the span in the field. */
  start: number;
  end: number;
}

export interface RuleMatch {
  /** Rule id, or a synthetic id (blocklist:suspend, threshold:flag, ...). */
  ruleId: string;
  reason: string;
  score: number;
  /** Monitor-mode rules are reported but never act. */
  monitor: boolean;
  evidence: Evidence[];
}

export interface CallError {
  /** A canonical gRPC code name: UNAVAILABLE, DEADLINE_EXCEEDED, INVALID_ARGUMENT, ... */
  code: string;
  message: string;
}

export interface EvaluateResult {
  requestId: string;
  /** On failure: 'accept' with failMode 'open', 'reject' with failMode 'closed'. */
  verdict: Verdict;
  /** Empty on failure and on reject. */
  effects: Effect[];
  score: number;
  matches: RuleMatch[];
  /** '' on failure. */
  policyVersion: string;
  /** Set when a FLAG was stored for review ('' otherwise, and always with dryRun). */
  flagId: string;
  /** True when fedwalld did not decide: the verdict is the failMode's. */
  failed: boolean;
  /** Why it failed (only when failed). */
  error?: CallError;
}

export interface TlsOptions {
  /** PEM CA certificate(s) to trust; default: the system's roots. */
  ca?: string | Buffer | null;
  /** PEM client certificate chain (mTLS). */
  cert?: string | Buffer | null;
  /** PEM private key of cert. */
  key?: string | Buffer | null;
}

export interface FedwallClientOptions {
  /** fedwalld's gRPC address, "host:port". */
  address: string;
  /** Deadline of each call, ms (default 250). */
  deadlineMs?: number;
  /** What a failed call answers: 'open' → accept (default), 'closed' → reject. */
  failMode?: 'open' | 'closed';
  /** Use TLS (fedwalld --tls-cert); omit for plaintext. */
  tls?: TlsOptions;
  /** Directory holding fedwall/v1/*.proto (default: the package's proto/, then the repo's). */
  protoDir?: string;
  /** Most requests in one EvaluateBatch; larger batches are split (default 1024, fedwalld's). */
  maxBatchItems?: number;
  /** Extra grpc-js channel options. */
  channelOptions?: Record<string, string | number>;
}

export interface BatcherOptions {
  /** Send a batch as soon as this many calls wait (default 64). */
  maxBatch?: number;
  /** Send whatever waits this long after the first call of a batch (default 2 ms). */
  maxDelayMs?: number;
  /** Calls waiting or in flight past which evaluate() answers by failMode
   *  (error RESOURCE_EXHAUSTED) (default 10000). */
  maxQueued?: number;
  /** Deadline of each call, counted from evaluate() (default: the client's). */
  deadlineMs?: number;
}

export interface BatcherStats {
  /** EvaluateBatch calls made. */
  batches: number;
  /** Items sent in them. */
  items: number;
  /** Calls answered by failMode without being sent (queue full, or closed). */
  refused: number;
  /** Calls waiting for the next batch. */
  queued: number;
  /** Calls waiting or in flight. */
  outstanding: number;
}

export class Batcher {
  readonly maxBatch: number;
  readonly maxDelayMs: number;
  readonly maxQueued: number;
  readonly deadlineMs: number;
  readonly stats: BatcherStats;
  /** Never rejects for failures; rejects (TypeError/RangeError) for a missing activity or bad options. */
  evaluate(activity: ActivityInput, options?: EvaluateOptions): Promise<EvaluateResult>;
  /** Sends what waits, waits for calls in flight; later calls answer by failMode (CANCELLED). */
  close(): Promise<void>;
}

export class FedwallClient {
  constructor(options: FedwallClientOptions);
  readonly address: string;
  readonly deadlineMs: number;
  readonly failMode: 'open' | 'closed';
  readonly maxBatchItems: number;
  /** Never rejects for failures; rejects (TypeError/RangeError) for a missing activity or bad options. */
  evaluate(activity: ActivityInput, options?: EvaluateOptions): Promise<EvaluateResult>;
  /** One result per item, in order; a bad item gets its own failMode result. */
  evaluateBatch(items: BatchItem[], options?: { deadlineMs?: number }): Promise<EvaluateResult[]>;
  batcher(options?: BatcherOptions): Batcher;
  /** Closes every batcher (flushing it), then the channel. */
  close(): Promise<void>;
}

/** The directory the protos are loaded from (throws when none is found). */
export function findProtoRoot(explicit?: string): string;
