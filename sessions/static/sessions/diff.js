/*
 * One renderer for unified diffs, shared by the command log (Write and Edit calls) and the
 * Files changed tab.
 *
 *   window.orchestratorDiff.render(text, options) -> <pre class="diff"> element
 *     text: a unified diff ("--- a/x", "+++ b/x", "@@ -1,2 +1,3 @@", then " ", "+", "-" lines)
 *     options.maxLines: lines shown before a "show all N lines" button (default 400)
 *   window.orchestratorDiff.fromLines(oldText, newText, path) -> unified diff text
 *     (a line diff of two texts, for an Edit's old_string/new_string or a Write's content)
 *
 * Diff text is untrusted (it is the agent's output): it goes into the page with textContent.
 */
(function () {
  "use strict";

  const DEFAULT_MAX_LINES = 400;

  function lineClass(line) {
    if (line.startsWith("+++") || line.startsWith("---")) return "diff-file";
    if (line.startsWith("@@")) return "diff-hunk";
    if (line.startsWith("+")) return "diff-add";
    if (line.startsWith("-")) return "diff-del";
    if (line.startsWith("\\")) return "diff-note";
    return "diff-context";
  }

  function appendLines(pre, lines) {
    const fragment = document.createDocumentFragment();
    for (const line of lines) {
      const span = document.createElement("span");
      span.className = `diff-line ${lineClass(line)}`;
      span.textContent = `${line}\n`;
      fragment.appendChild(span);
    }
    pre.appendChild(fragment);
  }

  function render(text, options) {
    const maxLines = (options && options.maxLines) || DEFAULT_MAX_LINES;
    const lines = String(text || "").replace(/\n$/, "").split("\n");
    const pre = document.createElement("pre");
    pre.className = "diff";
    appendLines(pre, lines.slice(0, maxLines));
    if (lines.length > maxLines) {
      const more = document.createElement("button");
      more.type = "button";
      more.className = "button button-small diff-more";
      more.textContent = `Show all ${lines.length.toLocaleString()} lines`;
      more.addEventListener("click", () => {
        appendLines(pre, lines.slice(maxLines));
        more.remove();
      });
      pre.appendChild(more);
    }
    return pre;
  }

  // The longest common subsequence of lines, as a list of [op, line]: enough for the
  // few-hundred-line strings of an Edit. Larger inputs fall back to "all removed, all added".
  function lineOps(before, after) {
    const n = before.length;
    const m = after.length;
    if (n * m > 4_000_000) {
      return [...before.map((l) => ["-", l]), ...after.map((l) => ["+", l])];
    }
    const table = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i -= 1) {
      for (let j = m - 1; j >= 0; j -= 1) {
        table[i][j] =
          before[i] === after[j] ? table[i + 1][j + 1] + 1 : Math.max(table[i + 1][j], table[i][j + 1]);
      }
    }
    const ops = [];
    let i = 0;
    let j = 0;
    while (i < n && j < m) {
      if (before[i] === after[j]) {
        ops.push([" ", before[i]]);
        i += 1;
        j += 1;
      } else if (table[i + 1][j] >= table[i][j + 1]) {
        ops.push(["-", before[i]]);
        i += 1;
      } else {
        ops.push(["+", after[j]]);
        j += 1;
      }
    }
    while (i < n) ops.push(["-", before[i++]]);
    while (j < m) ops.push(["+", after[j++]]);
    return ops;
  }

  function splitLines(text) {
    if (text === null || text === undefined || text === "") return [];
    return String(text).replace(/\n$/, "").split("\n");
  }

  function fromLines(oldText, newText, path) {
    const before = splitLines(oldText);
    const after = splitLines(newText);
    const name = path || "file";
    const header = [
      before.length ? `--- a/${name}` : "--- /dev/null",
      `+++ b/${name}`,
      `@@ -${before.length ? 1 : 0},${before.length} +${after.length ? 1 : 0},${after.length} @@`,
    ];
    return [...header, ...lineOps(before, after).map(([op, line]) => op + line)].join("\n");
  }

  window.orchestratorDiff = { render, fromLines };
})();
