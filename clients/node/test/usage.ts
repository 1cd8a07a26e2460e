// Type-checked (not run) by the tests: `tsc -p test/tsconfig.json`. How a TypeScript server
// such as Misskey calls the client.
import { FedwallClient, type EvaluateResult, type ActorFacts } from '../index.js';

async function example(activity: Record<string, unknown>, rawBody: Buffer): Promise<void> {
  const fedwall = new FedwallClient({ address: '127.0.0.1:50051', deadlineMs: 250, failMode: 'open' });
  const actor: ActorFacts = {
    createdAt: new Date('2024-01-01T00:00:00Z'),
    followersCount: 3,
    followingCount: 10n,
    statusesCount: 42,
    bot: false,
    followedByLocalUsers: true,
    displayName: null,
  };
  const r: EvaluateResult = await fedwall.evaluate(activity, {
    actor,
    delivery: { senderDomain: 'remote.example', signatureVerified: true, receivedAt: '2024-02-01T00:00:00Z' },
    requestId: 'abc',
  });
  if (r.failed) console.warn(r.error?.code, r.error?.message);
  if (r.verdict === 'reject') return;
  const sensitive: boolean = r.effects.includes('mark_sensitive');
  for (const m of r.matches) for (const e of m.evidence) console.log(m.ruleId, m.monitor, e.field, e.text, e.start, e.end, sensitive);

  const batch = await fedwall.evaluateBatch([{ activity: rawBody }, { activity: '{}', dryRun: true }], { deadlineMs: 500 });
  console.log(batch[0].verdict, batch[1].flagId);

  const batcher = fedwall.batcher({ maxBatch: 64, maxDelayMs: 2, maxQueued: 1000 });
  const one = await batcher.evaluate(activity, { actor: { followersCount: 0 } });
  console.log(one.score, batcher.stats.batches);
  await batcher.close();
  await fedwall.close();

  // @ts-expect-error failMode is 'open' or 'closed'
  new FedwallClient({ address: 'x:1', failMode: 'sometimes' });
  // @ts-expect-error facts are camelCase, as in the proto's JSON form
  await fedwall.evaluate(activity, { actor: { followers_count: 1 } });
  // @ts-expect-error the verdict is a union of three names
  const v: 'accept' | 'flag' = one.verdict;
  console.log(v);
}
void example;
