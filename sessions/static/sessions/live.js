/*
 * The live view of one session: new command logs, messages and status changes appear
 * without a reload.
 *
 * Transports, in order of preference: WebSocket, then Server-Sent Events, then polling.
 * `?transport=ws|sse|poll` on the page URL forces one. A transport that has never worked on
 * this page is given up after two failed attempts (when not forced); one that has worked is
 * retried with backoff, since a server restart should not leave the page degraded.
 *
 * Every connection resumes from `cursor`: all events with seq <= cursor are on the page.
 * Events that arrive ahead of a gap are shown and remembered in `ahead`, so nothing is ever
 * shown twice and the cursor never skips an event that has not arrived.
 *
 * Tool output is untrusted: data goes into the page with textContent only.
 */
(function () {
  "use strict";

  const configElement = document.getElementById("live-config");
  if (!configElement) return;
  const config = JSON.parse(configElement.textContent);

  const ORDER = ["ws", "sse", "poll"];
  const LABELS = { ws: "WebSocket", sse: "SSE", poll: "polling" };
  const POLL_FAST_MS = 3000;
  const POLL_SLOW_MS = 10000;
  const POLL_SLOW_AFTER_MS = 30000;
  const GAP_FILL_DELAY_MS = 2000;
  const MAX_BACKOFF_MS = 15000;
  // Each tool call's one line and readable body (toolcalls.js, loaded before this file).
  const toolCalls = window.orchestratorToolCalls;

  const root = document.querySelector("[data-live-session]");
  const indicator = document.getElementById("live-indicator");
  const lists = {
    log: document.getElementById("command-log"),
    message: document.getElementById("conversation"),
  };
  const templates = {
    log: document.getElementById("log-row-template"),
    message: document.getElementById("message-row-template"),
    turn: document.getElementById("turn-row-template"),
    running: document.getElementById("running-row-template"),
  };
  const runningList = document.getElementById("running-tools");
  const activity = document.querySelector("[data-activity]");
  const numbers = window.orchestratorNumbers;
  const directionLabels = { user: "User", assistant: "Assistant", system: "System" };

  const requested = new URLSearchParams(window.location.search).get("transport");
  const forced = ORDER.includes(requested) ? requested : null;
  const order = forced ? [forced] : ORDER;

  let cursor = Number(config.lastSeq) || 0;
  const ahead = new Set();
  let status = config.status;
  let index = 0;
  let connection = null;
  let retryTimer = null;
  let gapTimer = null;
  let attempt = 0;
  let failedOpens = 0;
  let terminal = false;
  let statusEvents = 0;
  const worked = new Set();
  // The turn in progress: its tool calls running now (by tool_use_id) and when it began.
  const running = new Map();
  let turnStartedAt = config.turnStartedAt ? new Date(config.turnStartedAt) : null;
  let turnsShown = Number(config.turnsShown) || 0;
  let ticker = null;
  const stats = { received: 0, shown: 0, duplicates: 0, reconnects: 0, gapFills: 0 };

  // --- events -------------------------------------------------------------------------

  function handle(event) {
    if (!event || typeof event !== "object") return;
    stats.received += 1;
    if (event.kind === "status") {
      statusEvents += 1;
      setStatus(event.status, event.reason);
      return;
    }
    if (event.kind === "cost") {
      // Billing's meter: the session's cost as it moves during a turn, against its budget.
      showCost(event.cost_usd, event.budget_limit, event.budget_used_pct);
      return;
    }
    if (event.kind === "tool_start") return startTool(event);
    if (event.kind === "turn") return showTurn(event);
    if (event.kind === "usage") return showTurnTokens(event.turn_input_tokens, event.turn_output_tokens);
    if (event.kind !== "log" && event.kind !== "message") return; // e.g. "hook": not shown
    if (event.kind === "log") finishTool(event.tool_use_id);
    const seq = Number(event.seq);
    if (!Number.isInteger(seq) || seq <= 0) return;
    if (seq <= cursor || ahead.has(seq)) {
      stats.duplicates += 1;
      return;
    }
    show(event, seq);
    noteActivity(event);
    ahead.add(seq);
    while (ahead.has(cursor + 1)) {
      cursor += 1;
      ahead.delete(cursor);
    }
    if (ahead.size) scheduleGapFill();
  }

  function show(event, seq) {
    const list = lists[event.kind];
    if (!list) return;
    const row = event.kind === "log" ? logRow(event) : messageRow(event);
    row.dataset.seq = String(seq);
    row.classList.add("row-new");
    const following = nearBottom();
    // Events nearly always arrive in order: look back from the end for the place.
    insertBySeq(list, row, seq);
    stats.shown += 1;
    if (following) row.scrollIntoView({ block: "nearest" });
  }

  // A turn separator stands after its turn's last event (data-after-seq), not at a seq.
  function insertBySeq(list, row, seq) {
    const place = (element) => Number(element.dataset.seq || element.dataset.afterSeq);
    let before = list.lastElementChild;
    while (before && place(before) > seq) before = before.previousElementSibling;
    list.insertBefore(row, before ? before.nextSibling : list.firstChild);
    const empty = document.querySelector(`[data-empty-for="${list.id}"]`);
    if (empty) empty.hidden = true;
  }

  // --- the turn in progress: running tool calls, thinking, turn separators --------------

  function startTool(event) {
    const id = String(event.tool_use_id || "");
    if (!id || running.has(id) || lists.log.querySelector(`[data-tool-use-id="${CSS.escape(id)}"]`)) return;
    const row = fromTemplate("running");
    row.dataset.toolUseId = id;
    slot(row, "tool", String(event.tool || ""));
    slot(row, "summary", inputSummary(event.tool, event.input || {}));
    const started = new Date(event.started_at);
    running.set(id, { row, started: Number.isNaN(started.getTime()) ? new Date() : started });
    runningList.append(row);
    const empty = document.querySelector('[data-empty-for="command-log"]');
    if (empty) empty.hidden = true;
    if (status !== "running") setStatus("running");
    tick();
  }

  function finishTool(toolUseId) {
    const entry = running.get(String(toolUseId || ""));
    if (!entry) return;
    entry.row.remove();
    running.delete(String(toolUseId));
    tick();
  }

  function showTurn(event) {
    const number = Number(event.number);
    if (!Number.isInteger(number) || lists.log.querySelector(`[data-turn="${number}"]`)) return;
    const row = fromTemplate("turn");
    row.dataset.turn = String(number);
    row.dataset.afterSeq = String(Number(event.last_seq) || 0);
    row.classList.toggle("turn-error", Boolean(event.is_error));
    slot(row, "number", String(number));
    slot(row, "error-flag").hidden = !event.is_error;
    slot(row, "duration", durationLabel(event.duration_ms));
    numbers.show(slot(row, "tokens-in"), Number(event.input_tokens) || 0);
    numbers.show(slot(row, "tokens-out"), Number(event.output_tokens) || 0);
    numbers.show(slot(row, "cost"), Number(event.cost_usd) || 0);
    insertBySeq(lists.log, row, Number(row.dataset.afterSeq));
    turnsShown = Math.max(turnsShown, number);
  }

  function showTurnTokens(tokensIn, tokensOut) {
    const box = fact("turn-tokens");
    if (!box) return;
    const any = Number(tokensIn) > 0 || Number(tokensOut) > 0;
    box.hidden = !any;
    if (any) {
      numbers.show(fact("turn-tokens-in"), Number(tokensIn) || 0);
      numbers.show(fact("turn-tokens-out"), Number(tokensOut) || 0);
    }
  }

  // Once a second while the turn runs: each running call's elapsed time, and "thinking"
  // while the model works between tool calls.
  function tick() {
    const now = Date.now();
    for (const { row, started } of running.values()) {
      slot(row, "elapsed", elapsedLabel(now - started.getTime()));
    }
    const turnRuns = status === "running";
    activity.hidden = !turnRuns || running.size > 0;
    const elapsed = activity.querySelector("[data-activity-elapsed]");
    elapsed.textContent = turnRuns && turnStartedAt ? `· turn ${elapsedLabel(now - turnStartedAt.getTime())}` : "";
    if (turnRuns && !ticker) ticker = setInterval(tick, 1000);
    if (!turnRuns && ticker) {
      clearInterval(ticker);
      ticker = null;
    }
  }

  function elapsedLabel(ms) {
    const seconds = Math.max(0, Math.floor(ms / 1000));
    if (seconds < 60) return `${seconds} s`;
    return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  }

  // The turn is over (or never ran): what was running will not finish on this page.
  function endTurn() {
    for (const { row } of running.values()) row.remove();
    running.clear();
    turnStartedAt = null;
  }

  function fromTemplate(kind) {
    return templates[kind].content.firstElementChild.cloneNode(true);
  }

  function slot(row, name, text) {
    const element = row.querySelector(`[data-slot="${name}"]`);
    if (element && text !== undefined) element.textContent = text;
    return element;
  }

  function logRow(event) {
    const row = fromTemplate("log");
    const input = event.input === undefined ? {} : event.input;
    const result = typeof event.result === "string" ? event.result : "";
    slot(row, "tool", String(event.tool || ""));
    slot(row, "summary", inputSummary(event.tool, input));
    slot(row, "duration", durationLabel(event.duration_ms));
    slot(row, "seq", `#${event.seq}`);
    setTime(slot(row, "time"), event.created_at);
    slot(row, "input", JSON.stringify(input, null, 2));
    slot(row, "result", result);
    slot(row, "result-size", resultSizeLabel(event.result_bytes, result));
    slot(row, "error-flag").hidden = !event.is_error;
    row.classList.toggle("log-error", Boolean(event.is_error));
    if (event.tool_use_id) row.dataset.toolUseId = String(event.tool_use_id);
    toolCalls.enhance(row, event, config.workspacePath);
    return row;
  }

  function messageRow(event) {
    const row = fromTemplate("message");
    const direction = String(event.direction || "assistant");
    row.className = "message";
    row.classList.add(`message-${direction.replace(/[^a-z]/g, "")}`);
    slot(row, "direction", directionLabels[direction] || direction);
    slot(row, "content", String(event.content || ""));
    slot(row, "seq", `#${event.seq}`);
    setTime(slot(row, "time"), event.created_at);
    return row;
  }

  // The same rule as sessions/web/views.py, for events that arrive after the page was built.
  function inputSummary(tool, input) {
    return toolCalls.summary(String(tool || ""), input, config.workspacePath);
  }

  function durationLabel(ms) {
    if (ms === null || ms === undefined || ms === "") return "";
    if (ms < 1000) return `${ms} ms`;
    const tenths = Math.floor((ms + 50) / 100);
    return `${Math.floor(tenths / 10)}.${tenths % 10} s`;
  }

  function resultSizeLabel(resultBytes, result) {
    const shown = new TextEncoder().encode(result).length;
    const total = Number.isInteger(resultBytes) ? resultBytes : shown;
    return `${total} bytes${total > shown ? `, first ${shown} shown` : ""}`;
  }

  function setTime(element, iso) {
    if (!element || !iso) return;
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return;
    element.setAttribute("datetime", iso);
    element.title = date.toLocaleString();
    element.textContent = date.toLocaleTimeString();
  }

  function nearBottom() {
    return window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 120;
  }

  // --- facts and status ---------------------------------------------------------------

  function fact(name) {
    return document.querySelector(`[data-fact="${name}"]`);
  }

  function noteActivity(event) {
    const lastActivity = fact("last-activity");
    if (lastActivity && event.created_at) {
      let time = lastActivity.querySelector("time");
      if (!time) {
        time = document.createElement("time");
        lastActivity.replaceChildren(time);
      }
      setTime(time, event.created_at);
      time.textContent = time.title;
    }
    const toolCalls = fact("tool-calls");
    if (toolCalls && event.kind === "log") {
      toolCalls.textContent = String((Number(toolCalls.textContent) || 0) + 1);
    }
  }

  function showCost(cost, limit, usedPct) {
    if (cost === undefined || cost === null) return;
    numbers.show(fact("cost"), cost);
    const hasBudget = limit !== undefined && limit !== null;
    fact("budget-of").hidden = !hasBudget;
    fact("budget-meter").hidden = !hasBudget;
    fact("budget-warning").hidden = !(hasBudget && Number(usedPct) >= 80);
    if (!hasBudget) return;
    numbers.show(fact("budget-limit"), limit);
    fact("budget-meter").value = Math.min(Number(usedPct) || 0, 100);
  }

  // Totals (tokens, cost) are not events: read them when the status changes. The status
  // itself is read on every (re)connect of a push transport, since status events carry no
  // seq and are not replayed: one that fired while the page was not connected is caught
  // here. A status event that arrives while this read is on its way is newer and wins.
  async function syncSession(withStatus) {
    const statusEventsBefore = statusEvents;
    try {
      const url = `${config.statusesUrl}?id=${encodeURIComponent(config.sessionId)}`;
      const response = await fetch(url, { cache: "no-store", credentials: "same-origin" });
      if (!response.ok) return;
      const session = (await response.json()).sessions[0];
      if (!session) return;
      numbers.show(fact("tokens-in"), session.input_tokens);
      numbers.show(fact("tokens-out"), session.output_tokens);
      showTurnTokens(session.turn_input_tokens, session.turn_output_tokens);
      numbers.show(fact("claude-cost"), session.total_cost_usd);
      showCost(session.cost_usd, session.budget_limit, session.budget_used_pct);
      fact("tool-calls").textContent = String(session.tool_call_count);
      if (withStatus && statusEvents === statusEventsBefore && session.status !== status) {
        setStatus(session.status, session.status_reason);
      }
    } catch (error) {
      console.warn("live: could not read the session's status", error);
    }
  }

  function setStatus(next, reason) {
    if (typeof next !== "string" || !next) return;
    if (next !== status) syncSession(false);
    if (next === "running" && status !== "running") turnStartedAt = new Date();
    const previous = status;
    status = next;
    // Other scripts on the page (controls.js: banners about the turn) follow the status too.
    if (next !== previous) {
      document.dispatchEvent(new CustomEvent("session:status", { detail: { status: next, previous } }));
    }
    if (next !== "running") endTurn();
    tick();
    root.dataset.status = next;
    for (const badge of document.querySelectorAll("[data-status-badge]")) {
      badge.className = `badge badge-${next.replace(/[^a-z]/g, "")}`;
      badge.dataset.status = next;
      badge.textContent = config.statusLabels[next] || next;
    }
    if (typeof reason === "string") {
      const element = document.querySelector("[data-status-reason]");
      element.textContent = reason;
      element.hidden = !reason;
    }
    const ended = config.endedStatuses.includes(next);
    const stopForm = document.querySelector("[data-stop-form]");
    if (stopForm) stopForm.hidden = ended;
    const accepts = config.followUpStatuses.includes(next);
    const submit = document.querySelector("[data-follow-up-submit]");
    if (submit) submit.disabled = !accepts;
    const hint = document.querySelector("[data-follow-up-hint]");
    if (hint) {
      hint.hidden = accepts;
      hint.textContent = ended
        ? "The session has ended."
        : "You can send a follow-up once the current turn is over.";
    }
  }

  // --- transports ---------------------------------------------------------------------

  function setState(state, transport) {
    indicator.dataset.state = state;
    if (transport) indicator.dataset.transport = transport;
    const name = LABELS[indicator.dataset.transport] || "";
    const text = {
      connecting: `connecting${name ? ` (${name})` : ""}…`,
      live: `live · ${name}`,
      reconnecting: `reconnecting (${name})…`,
      closed: "not live: reload the page",
    }[state];
    indicator.querySelector("[data-live-label]").textContent = text;
  }

  function connect() {
    clearTimeout(retryTimer);
    if (terminal) return;
    const transport = order[index];
    setState(attempt ? "reconnecting" : "connecting", transport);
    connection = { ws: openWebSocket, sse: openEventSource, poll: openPoll }[transport]();
  }

  function opened(transport) {
    // Turn separators are not replayed from the cursor: after a drop, ask for them.
    if (transport !== "poll" && (worked.has(transport) || attempt > 0)) fetchMissing();
    worked.add(transport);
    attempt = 0;
    failedOpens = 0;
    setState("live", transport);
    // Polling answers the status with every page; the push transports do not.
    if (transport !== "poll") syncSession(true);
  }

  // Called once per connection, when it ends for any reason other than our own close().
  function lost(transport, everOpened) {
    connection = null;
    if (terminal) return;
    if (!everOpened) failedOpens += 1;
    const next = index + 1;
    if (!forced && !worked.has(transport) && failedOpens >= 2 && next < order.length) {
      index = next;
      attempt = 0;
      failedOpens = 0;
      connect();
      return;
    }
    attempt += 1;
    stats.reconnects += 1;
    setState("reconnecting", transport);
    const ceiling = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(attempt, 10));
    retryTimer = setTimeout(connect, ceiling / 2 + Math.random() * (ceiling / 2));
  }

  function giveUp() {
    terminal = true;
    if (connection) connection.close();
    connection = null;
    setState("closed");
  }

  function openWebSocket() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const url = `${scheme}//${window.location.host}${config.wsPath}?after=${cursor}`;
    const socket = new WebSocket(url);
    let isOpen = false;
    let done = false;
    socket.onopen = () => {
      isOpen = true;
      opened("ws");
    };
    socket.onmessage = (message) => {
      try {
        handle(JSON.parse(message.data));
      } catch (error) {
        console.warn("live: bad WebSocket frame", error);
      }
    };
    socket.onclose = () => {
      if (done) return;
      done = true;
      lost("ws", isOpen);
    };
    return {
      socket,
      close() {
        done = true;
        socket.close();
      },
    };
  }

  function openEventSource() {
    // Reconnects are ours, not EventSource's, so they share the backoff and the cursor.
    const source = new EventSource(`${config.streamUrl}?after=${cursor}`);
    let isOpen = false;
    let done = false;
    const onEvent = (message) => {
      try {
        const event = JSON.parse(message.data);
        if (!event.kind) event.kind = message.type;
        handle(event);
      } catch (error) {
        console.warn("live: bad SSE event", error);
      }
    };
    for (const kind of ["log", "message", "status"]) source.addEventListener(kind, onEvent);
    source.onopen = () => {
      isOpen = true;
      opened("sse");
    };
    source.onerror = () => {
      if (done) return;
      done = true;
      source.close();
      lost("sse", isOpen);
    };
    return {
      source,
      close() {
        done = true;
        source.close();
      },
    };
  }

  function openPoll() {
    let stopped = false;
    let timer = null;
    let isOpen = false;
    let etag = null;
    let lastChange = Date.now();

    async function tick() {
      if (stopped) return;
      let more = false;
      try {
        const response = await fetchEvents(etag);
        if (stopped) return;
        if (response.status !== 304) {
          etag = response.headers.get("ETag");
          const body = await response.json();
          if (stopped) return;
          const before = cursor;
          const statusBefore = status;
          body.results.forEach(handle);
          (body.turns || []).forEach(handle);
          if (body.status && body.status !== status) setStatus(body.status);
          if (cursor !== before || status !== statusBefore) lastChange = Date.now();
          more = Boolean(body.has_more);
        }
        if (!isOpen) {
          isOpen = true;
          opened("poll");
        }
      } catch (error) {
        if (stopped) return;
        stopped = true;
        if (error.permanent) giveUp();
        else lost("poll", isOpen);
        return;
      }
      const idle = Date.now() - lastChange > POLL_SLOW_AFTER_MS;
      timer = setTimeout(tick, more ? 0 : idle ? POLL_SLOW_MS : POLL_FAST_MS);
    }

    tick();
    return {
      close() {
        stopped = true;
        clearTimeout(timer);
      },
    };
  }

  async function fetchEvents(etag) {
    const headers = { Accept: "application/json" };
    if (etag) headers["If-None-Match"] = etag;
    const url = `${config.eventsUrl}?after=${cursor}&turns_after=${turnsShown}`;
    const response = await fetch(url, {
      headers,
      cache: "no-store",
      credentials: "same-origin",
    });
    if (response.status === 304 || response.ok) return response;
    const error = new Error(`events: HTTP ${response.status}`);
    // Logged out, or the session is no longer visible: retrying cannot help.
    error.permanent = [401, 403, 404].includes(response.status);
    throw error;
  }

  // A push transport delivered an event past a gap: if the gap is still open after a moment,
  // fetch what is missing once over plain HTTP rather than wait for a reconnect.
  function scheduleGapFill() {
    if (gapTimer) return;
    gapTimer = setTimeout(async () => {
      gapTimer = null;
      if (!ahead.size) return;
      stats.gapFills += 1;
      fetchMissing();
    }, GAP_FILL_DELAY_MS);
  }

  // One page over plain HTTP: the events after the cursor and the turns after the last shown.
  async function fetchMissing() {
    try {
      const response = await fetchEvents(null);
      if (!response.ok) return;
      const body = await response.json();
      body.results.forEach(handle);
      (body.turns || []).forEach(handle);
    } catch (error) {
      console.warn("live: catching up failed", error);
    }
  }

  // --- start --------------------------------------------------------------------------

  for (const time of document.querySelectorAll("#command-log time, #conversation time")) {
    setTime(time, time.getAttribute("datetime"));
  }
  for (const row of lists.log.querySelectorAll('li[data-kind="log"]')) {
    toolCalls.enhance(row, null, config.workspacePath);
  }
  for (const time of document.querySelectorAll(".facts time")) {
    setTime(time, time.getAttribute("datetime"));
    time.textContent = time.title;
  }
  (config.runningTools || []).forEach(startTool);
  tick();
  // Come back at once when the network or the tab does, instead of waiting out a backoff.
  const retryNow = () => {
    if (!connection && !terminal && document.visibilityState === "visible") connect();
  };
  window.addEventListener("online", retryNow);
  document.addEventListener("visibilitychange", retryNow);

  // For people debugging in the console, and for the browser tests.
  window.liveClient = {
    get transport() {
      return indicator.dataset.transport;
    },
    get state() {
      return indicator.dataset.state;
    },
    get cursor() {
      return cursor;
    },
    get socket() {
      return connection && connection.socket;
    },
    get source() {
      return connection && connection.source;
    },
    stats,
    // Simulates a dropped connection on any transport: the client reconnects and resumes.
    drop() {
      if (!connection) return;
      const transport = order[index];
      connection.close();
      lost(transport, true);
    },
  };

  connect();
})();
