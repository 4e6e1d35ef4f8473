// /metrics: what /stats reports, in Prometheus' text exposition format
// (version 0.0.4). Written by hand: prom-client would make the package need
// a run-time dependency for the demo's sake, and all this costs is a string
// built when a scraper asks; nothing runs per /fast request.
import type { StatsSnapshot } from './server-stats.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Record<string, string>;

const labelText = (labels: Labels): string => {
  const entries = Object.entries(labels);
  return entries.length === 0 ? '' : `{${entries.map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`).join(',')}}`;
};

export function toPrometheus(stats: StatsSnapshot): string {
  const out: string[] = [];
  const family = (name: string, type: 'counter' | 'gauge' | 'summary', help: string, samples: [Labels, number, string?][]): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value, suffix] of samples) out.push(`${name}${suffix ?? ''}${labelText(labels)} ${Number.isFinite(value) ? value : 0}`);
  };
  const pools = Object.entries(stats.pools);
  family('slowlane_uptime_seconds', 'gauge', 'Seconds since the server started.', [[{}, stats.uptimeSeconds]]);
  family('slowlane_requests_total', 'counter', 'Requests answered, by HTTP status (499: the client left first).', Object.entries(stats.requests).map(([status, n]) => [{ status }, n]));
  const outcomes = ['completed', 'failed', 'crashed', 'timedOut', 'expired', 'aborted', 'rejected'] as const;
  family('slowlane_pool_tasks_total', 'counter', 'Tasks that ended, by pool and outcome.', pools.flatMap(([pool, s]) => outcomes.map((outcome): [Labels, number] => [{ pool, outcome }, s[outcome]])));
  family('slowlane_pool_children_total', 'counter', 'Children of each pool by event: started, recycled (tasks, age, size), shrunk (idle), memory_killed, start_deferred (spawn budget).', pools.flatMap(([pool, s]): [Labels, number][] => [
    [{ pool, event: 'started' }, s.started], [{ pool, event: 'recycled' }, s.recycled], [{ pool, event: 'shrunk' }, s.shrunk],
    [{ pool, event: 'memory_killed' }, s.memoryKilled], [{ pool, event: 'start_deferred' }, s.startsDeferred],
  ]));
  for (const gauge of ['running', 'queued', 'children', 'idle'] as const) {
    family(`slowlane_pool_${gauge}`, 'gauge', `Tasks or children of each pool: ${gauge}.`, pools.map(([pool, s]) => [{ pool }, s[gauge]]));
  }
  for (const [metric, key, help] of [['slowlane_pool_queue_wait_seconds', 'queueWaitMs', 'From run() to a ready child getting the task.'], ['slowlane_pool_run_seconds', 'runMs', 'From a ready child getting the task to its end.']] as const) {
    family(metric, 'summary', help, pools.flatMap(([pool]): [Labels, number, string?][] => {
      const l = stats.latency?.[pool]?.[key];
      if (l === undefined) return [];
      return [[{ pool, quantile: '0.5' }, l.p50 / 1000], [{ pool, quantile: '0.99' }, l.p99 / 1000], [{ pool }, l.sum / 1000, '_sum'], [{ pool }, l.count, '_count']];
    }));
  }
  const d = stats.eventLoopDelayMs;
  family('slowlane_event_loop_delay_seconds', 'gauge', 'Event-loop delay beyond the 10 ms sampling interval.', [[{ quantile: '0.5' }, d.p50 / 1000], [{ quantile: '0.99' }, d.p99 / 1000], [{ quantile: '1' }, d.max / 1000]]);
  if (stats.loadShedding !== undefined) {
    family('slowlane_load_shedding', 'gauge', 'Whether new slow requests are refused now because the event loop is late (1) or not (0).', [[{}, stats.loadShedding.shedding ? 1 : 0]]);
    family('slowlane_shed_requests_total', 'counter', 'Slow requests refused with 503 because the event loop was late.', [[{}, stats.loadShedding.shed]]);
  }
  if (stats.log !== undefined) {
    family('slowlane_log_lines_total', 'counter', 'Access-log lines written, and dropped because the log\'s reader was too slow.', [[{ result: 'written' }, stats.log.written], [{ result: 'dropped' }, stats.log.dropped]]);
  }
  if (stats.queue !== undefined) {
    const { queue, waiting, prioritized, active, backlog, oldestWaitingSeconds } = stats.queue;
    family('slowlane_queue_jobs', 'gauge', 'Jobs of the queue (every host\'s), by state: waiting and prioritized (no host has them yet), active (a host runs them).', [[{ queue, state: 'waiting' }, waiting], [{ queue, state: 'prioritized' }, prioritized], [{ queue, state: 'active' }, active]]);
    family('slowlane_queue_backlog', 'gauge', 'Waiting + prioritized + active jobs of the queue: the number to scale worker hosts on (each server reports the same queue: take the max, not the sum).', [[{ queue }, backlog]]);
    family('slowlane_queue_oldest_waiting_seconds', 'gauge', 'How long the oldest job no host has taken yet has waited (0: none waits).', [[{ queue }, oldestWaitingSeconds]]);
  }
  return `${out.join('\n')}\n`;
}
