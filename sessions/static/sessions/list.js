/*
 * The session list, live: a light poll of /sessions/statuses/ (one indexed query for the
 * sessions on the page, one for new ones), fast while a session on the page is active, slow
 * otherwise. On the first page the same poll brings the sessions created since the last one
 * that match the page's filters and search, already rendered by the server as list rows.
 * Numbers are shown in the reader's locale; running sessions' durations tick.
 */
(function () {
  "use strict";

  // Filters apply as soon as one is picked; the button stays for browsers without scripts
  // (and submits the search).
  const filters = document.querySelector("[data-filters]");
  if (filters) {
    filters.addEventListener("change", (event) => {
      if (event.target.name !== "q") filters.submit();
    });
  }

  const list = document.querySelector("[data-session-list]");
  const configElement = document.getElementById("list-config");
  if (!list || !configElement) return;
  const config = JSON.parse(configElement.textContent);
  const ended = new Set(config.endedStatuses);
  const ACTIVE_MS = 4000;
  const QUIET_MS = 20000;
  // The first page also waits for sessions started elsewhere: it looks more often.
  const DISCOVERY_MS = 8000;
  let since = config.since;
  let timer = null;

  const numbers = window.orchestratorNumbers;

  function rows() {
    return Array.from(list.querySelectorAll("[data-session-id]"));
  }

  function anyActive() {
    return rows().some((row) => {
      const badge = row.querySelector("[data-status-badge]");
      return badge && !ended.has(badge.dataset.status);
    });
  }

  // "45 s", "3 min 4 s", "2 h 5 min": the server's rule (templatetags/session_list.py).
  function elapsed(seconds) {
    const whole = Math.max(0, Math.floor(seconds));
    const hours = Math.floor(whole / 3600);
    const minutes = Math.floor((whole % 3600) / 60);
    const secs = whole % 60;
    if (hours) return `${hours} h ${minutes} min`;
    if (minutes) return `${minutes} min ${secs} s`;
    return `${secs} s`;
  }

  function refreshDurations() {
    for (const element of list.querySelectorAll("[data-duration]")) {
      const start = Date.parse(element.dataset.start);
      const end = element.dataset.end ? Date.parse(element.dataset.end) : Date.now();
      if (Number.isFinite(start) && Number.isFinite(end)) {
        element.textContent = elapsed((end - start) / 1000);
      }
    }
  }

  function ago(iso) {
    const seconds = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
    const units = [
      ["day", 86400],
      ["hour", 3600],
      ["minute", 60],
    ];
    for (const [name, size] of units) {
      const count = Math.floor(seconds / size);
      if (count >= 1) return `${count} ${name}${count === 1 ? "" : "s"} ago`;
    }
    return "just now";
  }

  function update(session) {
    const row = list.querySelector(`[data-session-id="${CSS.escape(session.id)}"]`);
    if (!row) return;
    const badge = row.querySelector("[data-status-badge]");
    if (badge && badge.dataset.status !== session.status) {
      badge.className = `badge badge-${session.status.replace(/[^a-z_]/g, "")}`;
      badge.dataset.status = session.status;
      badge.textContent = session.status_label;
    }
    numbers.show(row.querySelector("[data-tool-calls]"), session.tool_call_count);
    numbers.show(row.querySelector("[data-cost]"), session.cost_usd);
    const duration = row.querySelector("[data-duration]");
    if (duration && session.ended_at) duration.dataset.end = session.ended_at;
    const time = row.querySelector("[data-last-activity]");
    if (time && session.last_activity_at) {
      time.setAttribute("datetime", session.last_activity_at);
      time.title = new Date(session.last_activity_at).toLocaleString();
    }
  }

  // The rows come from the server's own template (Django autoescapes every value in it);
  // DOMParser builds them in an inert document (no script runs) and they are moved over.
  function insert(newSessions) {
    const parser = new DOMParser();
    let arrived = 0;
    // The server sends the newest first: prepend the oldest first to keep that order.
    for (const item of newSessions.slice().reverse()) {
      if (list.querySelector(`[data-session-id="${CSS.escape(item.id)}"]`)) continue;
      const parsed = parser.parseFromString(item.html, "text/html");
      const row = parsed.body.querySelector("[data-session-id]");
      if (!row) continue;
      const adopted = document.adoptNode(row);
      adopted.classList.add("session-row-new");
      adopted.dataset.arrivedLive = "";
      numbers.apply(adopted);
      list.prepend(adopted);
      arrived += 1;
    }
    if (arrived) countArrivals(arrived);
    if (rows().length) {
      list.hidden = false;
      const empty = document.querySelector("[data-empty-list]");
      if (empty) empty.remove();
    }
  }

  // The "N sessions" line counts the ones that arrived too.
  function countArrivals(arrived) {
    const total = document.querySelector("[data-total]");
    if (!total) return;
    const count = Number(total.dataset.number) + arrived;
    numbers.show(total, count);
    const noun = document.querySelector("[data-total-noun]");
    if (noun) noun.textContent = count === 1 ? "session" : "sessions";
  }

  function pollQuery() {
    const params = new URLSearchParams();
    for (const row of rows().slice(0, 100)) params.append("id", row.dataset.sessionId);
    if (config.discover) {
      params.set("since", since);
      for (const [name, value] of Object.entries(config.filters)) params.set(name, value);
    }
    return params.toString();
  }

  async function poll() {
    if (document.visibilityState === "visible") {
      try {
        const response = await fetch(`${config.statusesUrl}?${pollQuery()}`, {
          headers: { Accept: "application/json" },
          cache: "no-store",
          credentials: "same-origin",
        });
        if (response.status === 401) return; // logged out elsewhere: stop polling
        if (response.ok) {
          const answer = await response.json();
          answer.sessions.forEach(update);
          if (answer.new_sessions) insert(answer.new_sessions);
          if (answer.since) since = answer.since;
        }
      } catch (error) {
        console.warn("statuses: poll failed", error);
      }
      refreshTimes();
      refreshDurations();
    }
    schedule();
  }

  function schedule() {
    clearTimeout(timer);
    let wait = anyActive() ? ACTIVE_MS : QUIET_MS;
    if (config.discover) wait = Math.min(wait, DISCOVERY_MS);
    timer = setTimeout(poll, wait);
  }

  function refreshTimes() {
    for (const time of list.querySelectorAll("[data-last-activity][datetime]")) {
      time.textContent = ago(time.getAttribute("datetime"));
    }
  }

  refreshTimes();
  refreshDurations();
  // Once a second, only while a duration is still running.
  setInterval(() => {
    if (list.querySelector("[data-duration][data-end='']")) refreshDurations();
  }, 1000);
  schedule();
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") poll();
  });
})();
