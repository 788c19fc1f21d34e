// The live dashboard: requests per second, latency percentiles, bytes in and out, and errors,
// from /metrics every few seconds (the last few minutes kept in the page), with disk usage and
// server facts from the admin API.

import { admin } from "../api.js";
import { drawChart } from "../chart.js";
import { parseMetrics, rates, snapshot } from "../metrics.js";
import { bar, formatBytes, h, replace } from "../dom.js";

/** How often the dashboard scrapes /metrics. */
const POLL_MS = 3000;
/** Points kept per chart (3 minutes at POLL_MS). */
const POINTS_MAX = 60;

let timer = null;

/** Stops the polling (the router calls it when another page opens). */
export function stopDashboard() {
  clearInterval(timer);
  timer = null;
}

async function scrape() {
  const response = await fetch("/metrics", { cache: "no-store" });
  return snapshot(parseMetrics(await response.text()), Date.now());
}

function chartCard(id, title) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("id", id);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", title);
  return [h("figure", { class: "chart" }, h("figcaption", {}, title), svg), svg];
}

export async function dashboardPage(main, session) {
  const history = [];
  const [requestsCard, requestsChart] = chartCard("chart-requests", "Requests per second");
  const [latencyCard, latencyChart] = chartCard("chart-latency", "Latency (ms)");
  const [bytesCard, bytesChart] = chartCard("chart-bytes", "Bytes per second");
  const [errorsCard, errorsChart] = chartCard("chart-errors", "Errors per second");
  const facts = h("div", { class: "facts", id: "facts" });
  replace(main, h("h2", {}, "Dashboard"), facts, h("div", { class: "charts" }, requestsCard, latencyCard, bytesCard, errorsCard));
  let last = await scrape();
  const update = async () => {
    const now = await scrape();
    history.push(rates(last, now));
    last = now;
    while (history.length > POINTS_MAX) history.shift();
    const series = (name, field, scale = 1) => ({
      name,
      points: history.filter((point) => point[field] !== null).map((point) => [point.timeMs, point[field] * scale]),
    });
    drawChart(requestsChart, [series("requests/s", "requestsPerSecond")], (value) => value.toFixed(value < 10 ? 1 : 0));
    drawChart(latencyChart, [series("p50", "p50", 1000), series("p90", "p90", 1000), series("p99", "p99", 1000)],
      (value) => value.toFixed(value < 10 ? 1 : 0));
    drawChart(bytesChart, [series("in", "bytesInPerSecond"), series("out", "bytesOutPerSecond")], formatBytes);
    drawChart(errorsChart, [series("4xx/s", "errors4xxPerSecond"), series("5xx/s", "errors5xxPerSecond")],
      (value) => value.toFixed(1));
    const cards = [h("div", { class: "fact" }, h("span", {}, "Open connections"), h("strong", { id: "fact-connections" }, String(now.connections)))];
    if (session.admin) {
      const info = await admin("GET", "info");
      const disk = info.disk;
      cards.push(
        h("div", { class: "fact" }, h("span", {}, "Version"), h("strong", {}, info.version)),
        h("div", { class: "fact" }, h("span", {}, "Uptime"), h("strong", {}, `${Math.floor(info.uptimeSeconds / 60)} min`)),
        h("div", { class: "fact" }, h("span", {}, "Cores"), h("strong", {}, String(info.cores))),
        h("div", { class: "fact" }, h("span", {}, "Metadata"), h("strong", {}, formatBytes(info.metadataBytes))),
        disk
          ? h("div", { class: "fact wide", id: "fact-disk" }, h("span", {}, `Disk ${formatBytes(disk.usedBytes)} of ${formatBytes(disk.totalBytes)}`),
              bar(disk.usedBytes / disk.totalBytes, "disk used"))
          : null,
      );
    }
    replace(facts, cards);
  };
  await update();
  stopDashboard();
  timer = setInterval(() => update().catch(() => {}), POLL_MS);
}
