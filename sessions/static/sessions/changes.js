/*
 * The Files changed tab: what the session changed in its workspace, from
 * GET /api/sessions/{id}/changes/. Loaded when the panel first shows, again when a turn ends
 * (the live view sets data-status on the page) and on Refresh. Paths and diffs are the
 * agent's text: they go into the page with textContent only (diff.js does the same).
 */
(function () {
  "use strict";

  const panel = document.querySelector("[data-changes]");
  if (!panel) return;
  const list = panel.querySelector("[data-changes-list]");
  const summary = panel.querySelector("[data-changes-summary]");
  const note = panel.querySelector("[data-changes-note]");
  const refresh = panel.querySelector("[data-changes-refresh]");
  const template = document.getElementById("change-row-template");
  const STATUS_LETTER = { added: "A", modified: "M", deleted: "D", type_changed: "T" };
  const numbers = new Intl.NumberFormat();
  let loaded = false;
  let loading = null;

  function plural(count, word) {
    return `${numbers.format(count)} ${word}${count === 1 ? "" : "s"}`;
  }

  async function load() {
    if (loading) return loading;
    refresh.disabled = true;
    panel.setAttribute("aria-busy", "true");
    loading = (async () => {
      try {
        const response = await fetch(panel.dataset.changesUrl, {
          headers: { Accept: "application/json" },
          credentials: "same-origin",
        });
        const body = await response.json().catch(() => ({}));
        if (!response.ok) {
          showProblem(body.detail || `The changes could not be read (HTTP ${response.status}).`);
          return;
        }
        show(body);
      } catch (error) {
        showProblem("The changes could not be read: the server did not answer.");
      } finally {
        loaded = true;
        loading = null;
        refresh.disabled = false;
        panel.removeAttribute("aria-busy");
      }
    })();
    return loading;
  }

  function showProblem(message) {
    list.replaceChildren();
    summary.textContent = "No changes to show.";
    note.textContent = message;
    note.hidden = false;
    panel.dataset.state = "unavailable";
  }

  function show(body) {
    const counts = body.counts || {};
    const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
    const parts = ["added", "modified", "deleted", "type_changed"]
      .filter((status) => status !== "type_changed" || counts[status])
      .map((status) => `${numbers.format(counts[status] || 0)} ${status.replace("_", " ")}`);
    summary.textContent = total
      ? `${plural(total, "file")} changed: ${parts.join(", ")}` +
        ` (+${numbers.format(body.additions)} −${numbers.format(body.deletions)})`
      : "No files changed yet.";
    const notes = [];
    if (body.files_truncated) {
      notes.push(`Only the first ${numbers.format(body.files.length)} files are listed.`);
    }
    if (body.diff_truncated) {
      notes.push("Some diffs were cut at the size limit; download the workspace for all of it.");
    }
    note.textContent = notes.join(" ");
    note.hidden = !notes.length;
    list.replaceChildren(...body.files.map(row));
    panel.dataset.state = "loaded";
  }

  function row(file) {
    const item = template.content.firstElementChild.cloneNode(true);
    item.classList.add(`change-${file.status}`);
    item.dataset.path = file.path;
    item.dataset.status = file.status;
    const status = item.querySelector("[data-change-status]");
    status.textContent = STATUS_LETTER[file.status] || "?";
    status.title = file.status.replace("_", " ");
    const path = item.querySelector("[data-change-path]");
    path.textContent = file.path;
    if (file.symlink) {
      const tag = document.createElement("span");
      tag.className = "tag change-link";
      tag.textContent = "link";
      path.append(" ", tag);
    }
    const added = item.querySelector("[data-change-add]");
    const deleted = item.querySelector("[data-change-del]");
    if (file.binary) {
      added.textContent = `binary, ${sizes(file)}`;
    } else {
      added.textContent = `+${numbers.format(file.additions)}`;
      deleted.textContent = `−${numbers.format(file.deletions)}`;
    }
    const details = item.querySelector("details");
    // Diffs are drawn when opened: a long list stays cheap.
    details.addEventListener("toggle", () => {
      const body = item.querySelector("[data-change-body]");
      if (!details.open || body.childElementCount) return;
      if (file.binary) {
        body.appendChild(paragraph(`Binary file (${sizes(file)}): not shown.`));
        return;
      }
      if (file.symlink) {
        body.appendChild(paragraph("A symbolic link: its target is shown, never followed."));
      }
      body.appendChild(window.orchestratorDiff.render(file.diff));
      if (file.diff_truncated) body.appendChild(paragraph("Cut at the size limit."));
    });
    return item;
  }

  function sizes(file) {
    const size = (bytes) =>
      bytes === null || bytes === undefined ? "–" : `${numbers.format(bytes)} bytes`;
    if (file.status === "added") return size(file.new_size);
    if (file.status === "deleted") return size(file.old_size);
    return `${size(file.old_size)} → ${size(file.new_size)}`;
  }

  function paragraph(text) {
    const p = document.createElement("p");
    p.className = "help";
    p.textContent = text;
    return p;
  }

  refresh.addEventListener("click", () => load());

  // First load when the panel is seen (a tab opened, or scrolled to).
  new IntersectionObserver((entries, observer) => {
    if (entries.some((entry) => entry.isIntersecting)) {
      observer.disconnect();
      if (!loaded) load();
    }
  }).observe(panel);

  // A turn that ends (running -> anything else) has changed files: read them again.
  const page = document.querySelector("[data-live-session]");
  if (page) {
    let status = page.dataset.status;
    new MutationObserver(() => {
      const next = page.dataset.status;
      if (status === "running" && next !== "running" && loaded) load();
      status = next;
    }).observe(page, { attributes: true, attributeFilter: ["data-status"] });
  }
})();
