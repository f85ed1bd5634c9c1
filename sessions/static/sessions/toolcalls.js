/*
 * Readable tool calls in the command log: a Write or an Edit as a coloured diff, a Bash call
 * as its command and output, a Read, Grep or Glob as one line saying what it did, with its
 * output. Long outputs are folded behind a "Show all N lines" button. The raw input and
 * output stay one click away ("Raw input and output"): operators debug with them.
 *
 *   window.orchestratorToolCalls.enhance(row, event, workspacePath)
 *     row: a command-log <li> built from _log_row.html; event: its log event, or null to
 *     read the tool, input and result back from the row (the rows the server rendered)
 *   window.orchestratorToolCalls.summary(tool, input, workspacePath) -> the row's one line
 *     (input_summary's rule in sessions/web/views.py, whose constants the page carries)
 *
 * Needs diff.js. Agent output is untrusted: it goes into the page with textContent only.
 */
(function () {
  "use strict";

  // The server's rule (views.py SUMMARY_RULE), rendered into the page: one source for both.
  const RULE = JSON.parse(document.getElementById("tool-summary-rule").textContent);
  const SUMMARY_KEYS = RULE.keys;
  const PATH_KEYS = RULE.pathKeys;
  const PATTERN_TOOLS = RULE.patternTools;
  const SUMMARY_CHARS = RULE.chars;
  const FOLD_LINES = 40;
  // Their view shows the change, not the result: a failure's message is added below it.
  const DIFF_TOOLS = ["Write", "Edit", "MultiEdit"];

  // --- the one-line summary (views.py's input_summary) ----------------------------------

  function relativePath(path, workspace) {
    if (typeof path !== "string") return "";
    const root = String(workspace || "").replace(/\/+$/, "");
    if (!root) return path;
    if (path.replace(/\/+$/, "") === root) return ".";
    return path.startsWith(`${root}/`) ? path.slice(root.length + 1) : path;
  }

  function summary(tool, input, workspace) {
    if (!input || typeof input !== "object" || Array.isArray(input)) {
      return clip(String(JSON.stringify(input)));
    }
    const pattern = input.pattern;
    if (PATTERN_TOOLS.includes(tool) && typeof pattern === "string" && pattern.trim()) {
      const where = relativePath(input.path, workspace);
      return clip(where && where !== "." ? `${pattern.trim()} in ${where}` : pattern.trim());
    }
    for (const key of SUMMARY_KEYS) {
      const value = input[key];
      if (typeof value !== "string" || !value.trim()) continue;
      const line = value.trim().split("\n")[0];
      // A long path keeps its end: the file's name says more than its first folders.
      return PATH_KEYS.includes(key) ? clipStart(relativePath(line, workspace)) : clip(line);
    }
    return clip(String(JSON.stringify(input)));
  }

  // Lengths in UTF-16 units where Python counts code points: alike for the usual text.
  function clip(text) {
    return text.length <= SUMMARY_CHARS ? text : `${text.slice(0, SUMMARY_CHARS - 1)}…`;
  }

  function clipStart(text) {
    return text.length <= SUMMARY_CHARS ? text : `…${text.slice(-(SUMMARY_CHARS - 1))}`;
  }

  // --- building blocks ------------------------------------------------------------------

  function element(tag, className, text) {
    const node = document.createElement(tag);
    node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // The first FOLD_LINES lines of `text`, and a button that shows the rest.
  function folded(text) {
    const lines = String(text).replace(/\n$/, "").split("\n");
    const box = element("div", "toolcall-fold");
    const pre = element("pre", "toolcall-output", lines.slice(0, FOLD_LINES).join("\n"));
    box.append(pre);
    if (lines.length > FOLD_LINES) {
      const label = `Show all ${lines.length.toLocaleString()} lines`;
      const more = element("button", "button button-small toolcall-more", label);
      more.type = "button";
      more.addEventListener("click", () => {
        pre.textContent = lines.join("\n");
        more.remove();
      });
      box.append(more);
    }
    return box;
  }

  function output(text) {
    return text ? folded(text) : element("p", "toolcall-empty muted", "(no output)");
  }

  function count(n, word) {
    return `${n.toLocaleString()} ${word}${n === 1 ? "" : "s"}`;
  }

  function parsed(result) {
    try {
      const value = JSON.parse(result);
      return value && typeof value === "object" ? value : null;
    } catch (error) {
      return null; // not JSON, or cut short (results over the size limit keep only their start)
    }
  }

  // Claude Code's own patch of a Write or an Edit (its result's structuredPatch), as text.
  function patchText(result, path) {
    const hunks = (parsed(result) || {}).structuredPatch;
    const usable = Array.isArray(hunks) && hunks.length && hunks.every((h) => h && Array.isArray(h.lines));
    if (!usable) return null;
    const lines = [`--- a/${path}`, `+++ b/${path}`];
    for (const h of hunks) {
      lines.push(`@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`, ...h.lines.map(String));
    }
    return lines.join("\n");
  }

  function diffView(text) {
    return window.orchestratorDiff.render(text, { maxLines: FOLD_LINES });
  }

  // --- one view per tool: the parts shown above the raw input and output ----------------

  function writeView(call, workspace) {
    const path = relativePath(call.input.file_path, workspace);
    const content = typeof call.input.content === "string" ? call.input.content : "";
    const lines = content ? content.replace(/\n$/, "").split("\n").length : 0;
    const diff = patchText(call.result, path) || window.orchestratorDiff.fromLines("", content, path);
    return [element("p", "toolcall-line", `Write ${path} — ${count(lines, "line")}`), diffView(diff)];
  }

  function editView(call, workspace) {
    const path = relativePath(call.input.file_path, workspace);
    const all = call.input.replace_all ? " (every occurrence)" : "";
    const diff =
      patchText(call.result, path) ||
      window.orchestratorDiff.fromLines(call.input.old_string, call.input.new_string, path);
    return [element("p", "toolcall-line", `Edit ${path}${all}`), diffView(diff)];
  }

  function multiEditView(call, workspace) {
    const path = relativePath(call.input.file_path, workspace);
    const listed = Array.isArray(call.input.edits) ? call.input.edits : [];
    const edits = listed.filter((edit) => edit && typeof edit === "object");
    const each = (edit) => window.orchestratorDiff.fromLines(edit.old_string, edit.new_string, path);
    const diff = patchText(call.result, path) || edits.map(each).join("\n");
    const line = `Edit ${path} — ${count(edits.length, "change")}`;
    return [element("p", "toolcall-line", line), diffView(diff)];
  }

  function bashView(call) {
    const command = typeof call.input.command === "string" ? call.input.command : "";
    return [element("pre", "toolcall-command", `$ ${command}`), output(call.result)];
  }

  function readView(call, workspace) {
    const path = relativePath(call.input.file_path, workspace);
    const file = (parsed(call.result) || {}).file;
    if (!file || typeof file.content !== "string") {
      const line = `Read ${path}${requestedLines(call.input)}`;
      return [element("p", "toolcall-line", line), output(call.result)];
    }
    const first = Number(file.startLine) || 1;
    const shown = Number(file.numLines) || 0;
    const total = Number(file.totalLines) || shown;
    const range =
      shown < total ? ` (lines ${first}–${first + shown - 1} of ${total})` : ` (${count(total, "line")})`;
    return [element("p", "toolcall-line", `Read ${path}${range}`), output(file.content)];
  }

  function requestedLines(input) {
    const offset = Number(input.offset);
    const limit = Number(input.limit);
    if (!(offset > 0) || !(limit > 0)) return "";
    return ` (lines ${offset}–${offset + limit - 1})`;
  }

  // Grep and Glob: what was looked for, where, how much was found, then the list.
  function searchView(call, workspace) {
    const where = relativePath(call.input.path, workspace);
    const pattern = typeof call.input.pattern === "string" ? call.input.pattern : "";
    const quoted = call.tool === "Grep" ? `'${pattern}'` : pattern;
    const found = parsed(call.result);
    const head = `${call.tool} ${quoted}${where && where !== "." ? ` in ${where}` : ""}`;
    if (!found) return [element("p", "toolcall-line", head), output(call.result)];
    const listed = Array.isArray(found.filenames) ? found.filenames : [];
    const names = listed.map((name) => relativePath(String(name), workspace));
    const text = typeof found.content === "string" ? found.content : names.join("\n");
    const more = found.truncated ? " (truncated)" : "";
    return [element("p", "toolcall-line", `${head} — ${searchCount(found, names)}${more}`), output(text)];
  }

  function searchCount(found, names) {
    if (Number.isInteger(found.numMatches)) return count(found.numMatches, "match");
    if (typeof found.content === "string" && Number.isInteger(found.numLines)) {
      return count(found.numLines, "line");
    }
    return count(Number.isInteger(found.numFiles) ? found.numFiles : names.length, "file");
  }

  const VIEWS = {
    Write: writeView,
    Edit: editView,
    MultiEdit: multiEditView,
    Bash: bashView,
    Read: readView,
    Grep: searchView,
    Glob: searchView,
  };

  // --- rewriting a row -----------------------------------------------------------------

  function fromEvent(event) {
    return {
      tool: String(event.tool || ""),
      input: event.input,
      result: typeof event.result === "string" ? event.result : "",
      isError: Boolean(event.is_error),
    };
  }

  // A row the server rendered: its input is the pretty-printed JSON in its input slot.
  function fromRow(row) {
    const text = (name) => (row.querySelector(`[data-slot="${name}"]`) || {}).textContent || "";
    let input = null;
    try {
      input = JSON.parse(text("input"));
    } catch (error) {
      input = null;
    }
    const isError = row.classList.contains("log-error");
    return { tool: text("tool"), input, result: text("result"), isError };
  }

  function enhance(row, event, workspace) {
    const call = event ? fromEvent(event) : fromRow(row);
    const view = VIEWS[call.tool];
    const body = row.querySelector(".log-body");
    const usable = view && body && call.input && typeof call.input === "object";
    if (!usable || row.dataset.toolView) return;
    let parts;
    try {
      parts = view(call, workspace || "");
    } catch (error) {
      console.warn("toolcalls: showing the raw call", error);
      return;
    }
    if (call.isError && DIFF_TOOLS.includes(call.tool)) parts.push(output(call.result));
    // A result over the size limit was cut when it was recorded: say so where it is read.
    const size = row.querySelector('[data-slot="result-size"]');
    if (size && size.textContent.includes("shown")) {
      parts.push(element("p", "toolcall-note muted", `Output cut when recorded: ${size.textContent}.`));
    }
    const raw = element("details", "toolcall-raw");
    raw.append(element("summary", "", "Raw input and output"), ...body.childNodes);
    const shown = element("div", "toolcall-view");
    shown.append(...parts);
    body.replaceChildren(shown, raw);
    row.dataset.toolView = call.tool;
  }

  window.orchestratorToolCalls = { enhance, summary };
})();
