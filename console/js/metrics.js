// Reading ringstore's /metrics (Prometheus text) into what the dashboard shows: rates between
// two scrapes, and latency percentiles from the histogram buckets' growth.

/** Samples of a Prometheus text exposition: [{ name, labels: {..}, value }]. */
export function parseMetrics(text) {
  const samples = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = {};
    for (const pair of (match[3] || "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1]] = pair[2];
    }
    samples.push({ name: match[1], labels, value: Number(match[4]) });
  }
  return samples;
}

function sum(samples, name, filter = () => true) {
  return samples.filter((s) => s.name === name && filter(s.labels)).reduce((total, s) => total + s.value, 0);
}

/** The counters the dashboard follows, from one scrape. */
export function snapshot(samples, timeMs) {
  const buckets = new Map();
  for (const s of samples) {
    if (s.name !== "ringstore_request_duration_seconds_bucket" || s.labels.core !== undefined) continue;
    const bound = s.labels.le === "+Inf" ? Infinity : Number(s.labels.le);
    buckets.set(bound, (buckets.get(bound) || 0) + s.value);
  }
  const perOperation = (labels) => labels.core === undefined;
  return {
    timeMs,
    requests: sum(samples, "ringstore_requests_total", perOperation),
    errors4xx: sum(samples, "ringstore_requests_total", (l) => perOperation(l) && l.status_class === "4xx"),
    errors5xx: sum(samples, "ringstore_requests_total", (l) => perOperation(l) && l.status_class === "5xx"),
    bytesIn: sum(samples, "ringstore_bytes_received_total"),
    bytesOut: sum(samples, "ringstore_bytes_sent_total"),
    connections: sum(samples, "ringstore_connections_open"),
    latencyBuckets: buckets,
  };
}

/** The q-quantile (0..1) of the requests between two histograms, in seconds (null if none). */
function quantile(before, after, q) {
  const bounds = Array.from(after.keys()).sort((a, b) => a - b);
  // `le` buckets are cumulative (and stay so summed across series): the +Inf one is the total.
  const counts = bounds.map((bound) => (after.get(bound) || 0) - (before.get(bound) || 0));
  const total = Math.max(...counts, 0);
  if (total <= 0) return null;
  const rank = q * total;
  for (let index = 0; index < bounds.length; index += 1) {
    // The bucket's upper bound; beyond the last finite bound, that bound (a lower estimate).
    if (counts[index] >= rank) return Number.isFinite(bounds[index]) ? bounds[index] : bounds[index - 1] ?? null;
  }
  return bounds.filter(Number.isFinite).pop() ?? null;
}

/** Rates and percentiles between two snapshots. */
export function rates(before, after) {
  const seconds = Math.max(0.001, (after.timeMs - before.timeMs) / 1000);
  const per = (field) => Math.max(0, after[field] - before[field]) / seconds;
  return {
    timeMs: after.timeMs,
    requestsPerSecond: per("requests"),
    errors4xxPerSecond: per("errors4xx"),
    errors5xxPerSecond: per("errors5xx"),
    bytesInPerSecond: per("bytesIn"),
    bytesOutPerSecond: per("bytesOut"),
    p50: quantile(before.latencyBuckets, after.latencyBuckets, 0.5),
    p90: quantile(before.latencyBuckets, after.latencyBuckets, 0.9),
    p99: quantile(before.latencyBuckets, after.latencyBuckets, 0.99),
  };
}
