// The dashboard: reads GET /v1/events with fetch (an EventSource cannot send the token) and
// shows the pool, its rates (rates.js) and the latest jobs. Everything a job carries is shown
// as text, never as HTML.
"use strict";

const tokenKey = "jobd-token";
const recentJobs = 50;
const jobs = new Map();  // id -> the latest job object, most recent last
let headers = {};        // the Authorization header, once there is a token
let selected = null;     // the id of the job shown in detail
const rates = new RateChart(document.getElementById("rates"),
                            document.getElementById("rates-legend"),
                            document.getElementById("rates-top"));

function el(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = String(text);
  if (className) e.className = className;
  return e;
}

function setState(text, kind) {
  const badge = document.getElementById("state");
  badge.textContent = text;
  badge.className = "badge " + (kind || "");
}

function showPool(pool) {
  // When the page first shows data, for the benchmark that times it.
  if (performance.getEntriesByName("jobd-data").length === 0) performance.mark("jobd-data");
  rates.add(pool, performance.now());
  const workers = document.getElementById("workers");
  workers.replaceChildren();
  for (const [name, value] of [["busy", pool.workers.busy], ["idle", pool.workers.idle],
                               ["alive", pool.workers.alive], ["limit", pool.workers.max],
                               ["state", pool.state]]) {
    workers.append(el("dt", name), el("dd", value));
  }
  // Types under a max_concurrency: how many of theirs run, of how many they may.
  for (const [name, t] of Object.entries(pool.types || {})) {
    workers.append(el("dt", name), el("dd", `${t.running} of ${t.limit} running`));
  }
  const lanes = document.getElementById("lanes");
  lanes.replaceChildren();
  for (const name of ["high", "normal"]) {
    const lane = pool.lanes[name];
    lanes.append(queueBox(`${name}: ${lane.depth} of ${lane.capacity} queued` +
                          (lane.paused ? " (paused)" : ""), lane.depth, lane.capacity));
  }
  // Pipelines' stage pools, each with a queue of its own.
  for (const [pipeline, stages] of Object.entries(pool.pipelines || {})) {
    stages.forEach((s, i) => lanes.append(queueBox(
        `${pipeline} stage ${i} (${s.type}): ${s.busy} of ${s.workers} busy, ` +
        `${s.queued} of ${s.queue_capacity} queued`, s.queued, s.queue_capacity)));
  }
}

function queueBox(text, depth, capacity) {
  const box = el("div", undefined, "lane");
  box.append(el("div", text));
  const bar = el("div", undefined, "bar");
  const fill = el("div");
  fill.style.width = `${Math.min(100, (100 * depth) / Math.max(1, capacity))}%`;
  bar.append(fill);
  box.append(bar);
  return box;
}

// Answers and events can cross: an answer made before an event may arrive after it. A job's
// attempt and its progress within it order what is shown.
const progress = { scheduled: 0, queued: 0, running: 1 };
function stage(job) {
  return [job.attempt, progress[job.status] ?? 2];
}
function older(job, than) {
  const [a, b] = [stage(job), stage(than)];
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}
let detailed = null;  // the job object shown in detail
let payload = null;   // {id, payload} of the job shown: events do not carry it, and it never changes

function showDetail(job) {
  if (detailed && detailed.id === job.id && older(job, detailed)) return;
  detailed = job;
  document.getElementById("detail").hidden = false;
  document.getElementById("detail-id").textContent = job.id;
  const shown = { type: job.type, status: job.status, attempt: job.attempt,
                  max_attempts: job.max_attempts,
                  payload: payload && payload.id === job.id ? payload.payload : undefined,
                  result: job.result, error: job.error, attempts: job.attempts,
                  stages: job.stages, callback: job.callback };
  document.getElementById("detail-body").textContent = JSON.stringify(shown, null, 2);
}

async function select(id) {
  selected = id;
  document.getElementById("action-result").textContent = "";
  const answer = await fetch(`/v1/jobs/${encodeURIComponent(id)}?payload=true`,
                             { headers, cache: "no-store" });
  if (answer.ok) {
    const job = await answer.json();
    payload = { id: job.id, payload: job.payload };
    showDetail(job);
  }
  for (const row of document.querySelectorAll("#jobs tr")) {
    row.classList.toggle("selected", row.dataset.id === selected);
  }
}

async function act(method, suffix) {
  if (!selected) return;
  const answer = await fetch(`/v1/jobs/${encodeURIComponent(selected)}${suffix}`,
                             { method, headers });
  const body = await answer.json();
  document.getElementById("action-result").textContent =
      answer.ok ? `${answer.status}: ${body.status}` : `${answer.status}: ${body.error.message}`;
  if (answer.ok) showDetail(body);
}

function showJob(job) {
  if (job.id === selected) showDetail(job);
  const known = jobs.get(job.id);
  if (known && older(job, known)) return;
  jobs.delete(job.id);
  jobs.set(job.id, job);
  while (jobs.size > recentJobs) jobs.delete(jobs.keys().next().value);
  render();
}

// Many changes a second draw the list once a frame.
let renderPending = false;
function render() {
  if (renderPending) return;
  renderPending = true;
  requestAnimationFrame(() => {
    renderPending = false;
    drawJobs();
  });
}

function drawJobs() {
  const status = document.getElementById("filter-status").value;
  const type = document.getElementById("filter-type").value.trim();
  const body = document.getElementById("jobs");
  body.replaceChildren();
  for (const j of [...jobs.values()].reverse()) {
    if ((status && j.status !== status) || (type && !j.type.includes(type))) continue;
    const row = el("tr", undefined, j.id === selected ? "selected" : undefined);
    row.dataset.id = j.id;
    row.addEventListener("click", () => select(j.id));
    row.append(el("td", j.id), el("td", j.type), el("td", j.status, "status-" + j.status),
               el("td", `${j.attempt} of ${j.max_attempts}`),
               el("td", j.finished_at || j.started_at || j.created_at));
    body.append(row);
  }
}

function handle(name, data) {
  if (name === "pool") showPool(JSON.parse(data));
  else if (name === "job") showJob(JSON.parse(data));
  else if (name === "lag") {
    // Jobs changed faster than jobd streams them: how they stand now comes from the list.
    missed = true;
    setState("live (some jobs missed)", "live");
    relistSoon();
  }
}

// Lists the jobs again, at most once a second however often jobd says events were missed.
let missed = false;
let listedAt = -Infinity;
let relistTimer = null;
function relistSoon() {
  if (relistTimer !== null) return;
  relistTimer = setTimeout(() => {
    relistTimer = null;
    listLatest();
  }, Math.max(0, listedAt + 1000 - performance.now()));
}

// The latest jobs as they stand (of the status chosen, if one is); the stream brings their
// changes from here on.
async function listLatest() {
  listedAt = performance.now();
  const status = document.getElementById("filter-status").value;
  const query = `limit=${recentJobs}` + (status ? `&status=${encodeURIComponent(status)}` : "");
  const listed = await fetch(`/v1/jobs?${query}`, { headers, cache: "no-store" });
  if (!listed.ok) return;
  jobs.clear();
  for (const job of (await listed.json()).jobs.reverse()) showJob(job);
  render();
  if (missed) setState("live", "live");  // the list shows how they stand
  missed = false;
}

async function stream() {
  const token = sessionStorage.getItem(tokenKey);
  headers = token ? { Authorization: "Bearer " + token } : {};
  const answer = await fetch("/v1/events", { headers, cache: "no-store" });
  if (answer.status === 401) {
    sessionStorage.removeItem(tokenKey);
    document.getElementById("board").hidden = true;
    document.getElementById("login").hidden = false;
    setState("token needed", "down");
    return false;
  }
  if (!answer.ok) throw new Error("events answered " + answer.status);
  document.getElementById("login").hidden = true;
  document.getElementById("board").hidden = false;
  setState("live", "live");
  await listLatest();
  const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return true;
    buffered += value;
    let end;
    while ((end = buffered.indexOf("\n\n")) >= 0) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const name = /^event: (.*)$/m.exec(event);
      const data = /^data: (.*)$/m.exec(event);
      if (name && data) handle(name[1], data[1]);
    }
  }
}

// Reconnects by itself, after a restart of jobd say, a second apart.
async function run() {
  for (;;) {
    try {
      if (!(await stream())) return;  // waits for a token
    } catch (e) {
      // jobd is away: try again.
    }
    setState("reconnecting", "down");
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

document.getElementById("filter-status").addEventListener("change", () => listLatest());
document.getElementById("filter-type").addEventListener("input", () => render());
document.getElementById("cancel").addEventListener("click", () => act("DELETE", ""));
document.getElementById("retry").addEventListener("click", () => act("POST", "/retry"));
document.getElementById("login").addEventListener("submit", (e) => {
  e.preventDefault();
  sessionStorage.setItem(tokenKey, document.getElementById("token").value);
  run();
});
run();
