import { Metrics } from '../../../src/observability/metrics';

function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = line.slice(name.length).split(' ')[0] ?? '';
    if (want.every((w) => labelText.includes(w))) return Number(line.split(' ').pop());
  }
  return undefined;
}

describe('Metrics', () => {
  it('counts outside calls by system, operation and outcome, with durations and error codes', async () => {
    const m = new Metrics({ processMetrics: false });
    m.onAdapterCall({ system: 'azure', operation: 'identities.put', outcome: 'ok', ms: 120 });
    m.onAdapterCall({ system: 'azure', operation: 'identities.put', outcome: 'ok', ms: 80 });
    m.onAdapterCall({ system: 'kubernetes', operation: 'serviceAccounts.patch', outcome: 'retryable', ms: 30, code: 'TooManyRequests' });
    const text = await m.metricsText();
    expect(sample(text, 'wid_outside_calls_total', { system: 'azure', operation: 'identities.put', outcome: 'ok' })).toBe(2);
    expect(sample(text, 'wid_outside_calls_total', { system: 'kubernetes', outcome: 'retryable' })).toBe(1);
    expect(sample(text, 'wid_outside_call_errors_total', { system: 'kubernetes', code: 'TooManyRequests' })).toBe(1);
    expect(sample(text, 'wid_outside_call_duration_seconds_sum', { system: 'azure', operation: 'identities.put', outcome: 'ok' })).toBeCloseTo(0.2);
    expect(sample(text, 'wid_outside_call_duration_seconds_count', { system: 'azure' })).toBe(2);
  });

  it('records transitions, time to approval, steps and Slack acks', async () => {
    const m = new Metrics({ processMetrics: false });
    m.onTransition(null, 'pending');
    m.onTransition('pending', 'approved');
    m.onTransition('approved', 'provisioning');
    m.onTransition(null, 'pending');
    m.observeTimeToApproval(90_000);
    m.onStep('identity', 'done', 1500);
    m.onStep('verify', 'failed', 120_000);
    m.onSlackAck('command', 40);
    m.onSlackAck('action', 3500);
    const text = await m.metricsText();
    expect(sample(text, 'wid_requests_total', { state: 'pending' })).toBe(2);
    expect(sample(text, 'wid_requests_total', { state: 'approved' })).toBe(1);
    expect(sample(text, 'wid_request_transitions_total', { from: 'none', to: 'pending' })).toBe(2);
    expect(sample(text, 'wid_time_to_approval_seconds_sum', {})).toBe(90);
    expect(sample(text, 'wid_time_to_approval_seconds_bucket', { le: '60' })).toBe(0);
    expect(sample(text, 'wid_time_to_approval_seconds_bucket', { le: '300' })).toBe(1);
    expect(sample(text, 'wid_step_duration_seconds_sum', { step: 'identity', outcome: 'done' })).toBe(1.5);
    expect(sample(text, 'wid_step_duration_seconds_count', { step: 'verify', outcome: 'failed' })).toBe(1);
    expect(sample(text, 'wid_slack_acks_total', { kind: 'command', outcome: 'ok' })).toBe(1);
    expect(sample(text, 'wid_slack_acks_total', { kind: 'action', outcome: 'late' })).toBe(1);
  });

  it('reads queue depth and requests by state when scraped; a queue state that empties reports 0', async () => {
    let counts: Record<string, Record<string, number>> = { 'wid-provision': { waiting: 3, active: 1 }, 'wid-timers': { delayed: 7 } };
    let reads = 0;
    const m = new Metrics({
      processMetrics: false,
      queueCounts: async () => {
        reads++;
        return counts;
      },
      requestsByState: async () => ({ pending: 2, provisioning: 1 }),
    });
    expect(reads).toBe(0);
    let text = await m.metricsText();
    expect(reads).toBe(1);
    expect(sample(text, 'wid_queue_jobs', { queue: 'wid-provision', state: 'waiting' })).toBe(3);
    expect(sample(text, 'wid_queue_jobs', { queue: 'wid-timers', state: 'delayed' })).toBe(7);
    expect(sample(text, 'wid_requests', { state: 'pending' })).toBe(2);
    counts = { 'wid-provision': { active: 2 } };
    text = await m.metricsText();
    expect(sample(text, 'wid_queue_jobs', { queue: 'wid-provision', state: 'waiting' })).toBe(0);
    expect(sample(text, 'wid_queue_jobs', { queue: 'wid-provision', state: 'active' })).toBe(2);
  });

  it('a failing queue read leaves the scrape working', async () => {
    const m = new Metrics({ processMetrics: false, queueCounts: async () => Promise.reject(new Error('Redis down')) });
    m.onTransition(null, 'pending');
    const text = await m.metricsText();
    expect(text).toContain('wid_requests_total{state="pending"} 1');
    expect(sample(text, 'wid_queue_jobs', { queue: 'wid-provision' })).toBeUndefined();
  });

  it('two instances do not share a registry; process metrics are on by default', async () => {
    const a = new Metrics({ defaultLabels: { role: 'web' } });
    const b = new Metrics({ processMetrics: false });
    a.onTransition(null, 'pending');
    const textA = await a.metricsText();
    expect(textA).toContain('wid_requests_total{state="pending",role="web"} 1');
    expect(textA).toContain('process_cpu_user_seconds_total');
    expect(await b.metricsText()).not.toContain('wid_requests_total{');
  });
});

describe('Metrics hooks', () => {
  it('work unbound, as adapter and engine hooks', async () => {
    const m = new Metrics({ processMetrics: false });
    const { onAdapterCall, onStep, onTransition } = m;
    onAdapterCall({ system: 'kubernetes', operation: 'serviceAccounts.get', outcome: 'ok', ms: 5 });
    onStep('serviceAccount', 'done', 10);
    onTransition('provisioning', 'succeeded');
    const text = await m.metricsText();
    expect(text).toContain('wid_outside_calls_total{system="kubernetes",operation="serviceAccounts.get",outcome="ok"} 1');
    expect(text).toContain('wid_step_duration_seconds_count{step="serviceAccount",outcome="done"} 1');
    expect(text).toContain('wid_requests_total{state="succeeded"} 1');
  });
});
