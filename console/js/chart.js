// Line charts as SVG (a few series over the last minutes), drawn from scratch on every update:
// small enough not to need a charting library.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 480;
const HEIGHT = 160;
const PAD = { left: 56, right: 8, top: 10, bottom: 20 };

function node(tag, attributes) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}

/**
 * Draws `series` ([{ name, points: [[timeMs, value], ...] }]) into `svg`, values formatted by
 * `format` on the axis.
 */
export function drawChart(svg, series, format) {
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
  const all = series.flatMap((line) => line.points);
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  // At least 1 on the axis, so an idle chart reads 0 … 1 rather than 0 … 0.
  const maximum = Math.max(1, ...all.map(([, value]) => value));
  const times = all.map(([time]) => time);
  const start = Math.min(...times);
  const span = Math.max(1, Math.max(...times) - start);
  for (const fraction of [0, 0.5, 1]) {
    const y = PAD.top + plotHeight * (1 - fraction);
    svg.append(node("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y, y2: y, class: "grid" }));
    const label = node("text", { x: PAD.left - 6, y: y + 4, "text-anchor": "end", class: "axis" });
    label.textContent = format(maximum * fraction);
    svg.append(label);
  }
  series.forEach((line, index) => {
    if (line.points.length === 0) return;
    const points = line.points.map(([time, value]) => [
      PAD.left + (all.length > 1 ? ((time - start) / span) * plotWidth : 0),
      PAD.top + plotHeight * (1 - value / maximum),
    ]);
    const coordinates = points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
    svg.append(node("polyline", { points: coordinates, class: `series series-${index}` }));
    // A dot per point: a series of one point, or one hidden under another, still shows.
    for (const [x, y] of points) {
      svg.append(node("circle", { cx: x.toFixed(1), cy: y.toFixed(1), r: 2.5, class: `dot series-${index}` }));
    }
    const legend = node("text", { x: PAD.left + 8 + index * 110, y: HEIGHT - 4, class: `legend series-${index}` });
    legend.textContent = line.name;
    svg.append(legend);
  });
}
