/*
 * Live status badges on the session list: a light poll of the statuses of the sessions on
 * the page (one indexed query per poll), fast while one of them is active, slow otherwise.
 */
(function () {
  "use strict";

  // Filters apply as soon as one is picked; the button stays for browsers without scripts.
  const filters = document.querySelector("[data-filters]");
  if (filters) {
    filters.addEventListener("change", () => filters.submit());
  }

  const list = document.querySelector("[data-session-list]");
  if (!list) return;
  const ended = new Set((list.dataset.endedStatuses || "").split(" "));
  const ACTIVE_MS = 4000;
  const QUIET_MS = 20000;
  let timer = null;

  function rows() {
    return Array.from(list.querySelectorAll("[data-session-id]"));
  }

  function anyActive() {
    return rows().some((row) => {
      const badge = row.querySelector("[data-status-badge]");
      return badge && !ended.has(badge.dataset.status);
    });
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
      badge.className = `badge badge-${session.status.replace(/[^a-z]/g, "")}`;
      badge.dataset.status = session.status;
      badge.textContent = session.status_label;
    }
    const calls = row.querySelector("[data-tool-calls]");
    if (calls) calls.textContent = String(session.tool_call_count);
    const cost = row.querySelector("[data-cost]");
    if (cost && session.cost_usd !== undefined) cost.textContent = session.cost_usd;
    const time = row.querySelector("[data-last-activity]");
    if (time && session.last_activity_at) {
      time.setAttribute("datetime", session.last_activity_at);
      time.title = new Date(session.last_activity_at).toLocaleString();
    }
  }

  function refreshTimes() {
    for (const time of list.querySelectorAll("[data-last-activity][datetime]")) {
      time.textContent = ago(time.getAttribute("datetime"));
    }
  }

  async function poll() {
    if (document.visibilityState === "visible") {
      const query = rows()
        .map((row) => `id=${encodeURIComponent(row.dataset.sessionId)}`)
        .join("&");
      try {
        const response = await fetch(`${list.dataset.statusesUrl}?${query}`, {
          headers: { Accept: "application/json" },
          cache: "no-store",
          credentials: "same-origin",
        });
        if (response.status === 401) return; // logged out elsewhere: stop polling
        if (response.ok) (await response.json()).sessions.forEach(update);
      } catch (error) {
        console.warn("statuses: poll failed", error);
      }
      refreshTimes();
    }
    timer = setTimeout(poll, anyActive() ? ACTIVE_MS : QUIET_MS);
  }

  refreshTimes();
  timer = setTimeout(poll, anyActive() ? ACTIVE_MS : QUIET_MS);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") {
      clearTimeout(timer);
      poll();
    }
  });
})();
