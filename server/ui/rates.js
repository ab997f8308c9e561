// Rates a second over the last five minutes, from the counters the pool's state carries (each
// `pool` event), drawn as an SVG chart by hand: the page loads nothing from elsewhere.
"use strict";

const svgNs = "http://www.w3.org/2000/svg";
const span_s = 300;     // the longest the chart shows, in seconds
const least_span_s = 10;  // the shortest: a page just opened draws its first seconds wide

function lanesSum(pool, of) {
  return of(pool.lanes.high) + of(pool.lanes.normal);
}

// The series: a name and its counter in a pool object.
const rateSeries = [
  ["submitted", (p) => lanesSum(p, (l) => l.submitted)],
  ["succeeded", (p) => lanesSum(p, (l) => l.finished.succeeded)],
  ["failed", (p) => lanesSum(p, (l) => l.finished.failed)],
  ["timed_out", (p) => lanesSum(p, (l) => l.finished.timed_out)],
  ["cancelled", (p) => lanesSum(p, (l) => l.finished.cancelled)],
  ["rejected", (p) => lanesSum(p, (l) => l.rejected.queue_full + l.rejected.shutting_down)],
];

// The smallest of 1, 2, 5, 10, 20, ... that is at least `v`: the chart's top.
function roundUp(v) {
  let step = 1;
  for (;;) {
    for (const m of [1, 2, 5]) {
      if (step * m >= v) return step * m;
    }
    step *= 10;
  }
}

function formatRate(v) {
  return v >= 100 ? String(Math.round(v)) : v.toFixed(1);
}

class RateChart {
  constructor(svg, legend, top) {
    this.svg = svg;
    this.top = top;  // shows the chart's top value
    this.last = null;  // {t, counts}: the counters last seen, when (ms)
    this.points = [];  // {t, rates}: the rate of each series between two samples, at the later
    this.lines = new Map();
    this.values = new Map();
    svg.setAttribute("viewBox", "0 0 100 100");
    svg.setAttribute("preserveAspectRatio", "none");
    legend.replaceChildren();
    for (const [name] of rateSeries) {
      const line = document.createElementNS(svgNs, "polyline");
      line.setAttribute("class", "series-" + name);
      line.setAttribute("vector-effect", "non-scaling-stroke");
      svg.append(line);
      this.lines.set(name, line);
      const item = document.createElement("li");
      item.className = "series-" + name;
      const value = document.createElement("span");
      value.className = "rate";
      value.dataset.series = name;
      value.textContent = "-";
      item.append(document.createElement("i"), document.createTextNode(name + " "), value,
                  document.createTextNode("/s"));
      legend.append(item);
      this.values.set(name, value);
    }
  }

  // A pool object, seen at `t` (ms, performance.now()).
  add(pool, t) {
    const counts = rateSeries.map(([, of]) => of(pool));
    const last = this.last;
    this.last = { t, counts };
    // A counter that went back: jobd started again. The next sample starts the rates anew.
    if (!last || t <= last.t || counts.some((c, i) => c < last.counts[i])) return;
    const seconds = (t - last.t) / 1000;
    this.points.push({ t, rates: counts.map((c, i) => (c - last.counts[i]) / seconds) });
    while (this.points.length && this.points[0].t < t - span_s * 1000) this.points.shift();
    this.draw(t);
  }

  draw(now) {
    let max = 0;
    for (const p of this.points) max = Math.max(max, ...p.rates);
    const top = roundUp(Math.max(max, 1));
    const first = this.points.length ? this.points[0].t : now;
    const span = Math.min(span_s, Math.max(least_span_s, Math.ceil((now - first) / 1000)));
    this.top.textContent = `top ${top}/s, the last ${span} s`;
    rateSeries.forEach(([name], i) => {
      const xy = this.points.map((p) => {
        const x = 100 - (100 * (now - p.t)) / 1000 / span;
        const y = 100 - (100 * p.rates[i]) / top;
        return `${x.toFixed(2)},${y.toFixed(2)}`;
      });
      this.lines.get(name).setAttribute("points", xy.join(" "));
      const newest = this.points[this.points.length - 1];
      this.values.get(name).textContent = newest ? formatRate(newest.rates[i]) : "-";
    });
  }
}
