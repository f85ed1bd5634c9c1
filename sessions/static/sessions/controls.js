/*
 * Small controls shared by every page.
 *
 * - Copy buttons: each [data-copy] element (a hook configuration block, a one-time password)
 *   gets a "Copy" button that copies its text. The dashboard may be served over plain HTTP on
 *   a private network, where navigator.clipboard does not exist: then the text is selected
 *   and copied the older way.
 * - Dialogs: buttons with commandfor/command open and close a <dialog> natively in current
 *   browsers; this does the same where the invoker commands are not supported yet.
 * - Banners that describe a state: a flash or error marked data-clears-when="turn-ends" goes
 *   away when the session's turn is over (live.js sends "session:status" on each change),
 *   or at once if the page loaded after it was over.
 */
(function () {
  "use strict";

  const COPIED_MS = 2000;
  // Statuses in which a turn is under way or about to be: anything else means it is over.
  const TURN_UNDER_WAY = new Set(["pending", "preparing", "running"]);

  // --- copy buttons -------------------------------------------------------------------

  function addCopyButton(source) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button button-small copy-button";
    button.textContent = "Copy";
    const label = source.dataset.copy || "text";
    button.setAttribute("aria-label", `Copy the ${label}`);
    const note = document.createElement("span");
    note.className = "copy-note";
    note.setAttribute("role", "status");
    button.addEventListener("click", () => copy(source, note));
    const bar = document.createElement("div");
    bar.className = "copy-bar";
    bar.append(button, note);
    source.before(bar);
  }

  async function copy(source, note) {
    const text = source.textContent;
    let copied = false;
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        copied = true;
      } catch (error) {
        console.warn("copy: the clipboard refused", error);
      }
    }
    if (!copied) copied = copyBySelection(source);
    note.textContent = copied ? "Copied" : "Select the text and copy it";
    setTimeout(() => {
      note.textContent = "";
    }, COPIED_MS);
  }

  function copyBySelection(source) {
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  // --- dialogs ------------------------------------------------------------------------

  function supportsInvokerCommands() {
    return "command" in HTMLButtonElement.prototype;
  }

  function wireDialogButton(button) {
    const dialog = document.getElementById(button.getAttribute("commandfor"));
    if (!dialog) return;
    button.addEventListener("click", () => {
      if (button.getAttribute("command") === "show-modal") dialog.showModal();
      else if (button.getAttribute("command") === "close") dialog.close();
    });
  }

  // --- banners that describe a state --------------------------------------------------

  function clearTurnBanners(status) {
    if (TURN_UNDER_WAY.has(status)) return;
    for (const banner of document.querySelectorAll('[data-clears-when="turn-ends"]')) {
      banner.remove();
    }
  }

  function start() {
    for (const source of document.querySelectorAll("[data-copy]")) addCopyButton(source);
    if (!supportsInvokerCommands()) {
      for (const button of document.querySelectorAll("button[commandfor]")) {
        wireDialogButton(button);
      }
    }
    // A dialog the server sent back open (its form had an error) opens as the modal it was.
    for (const dialog of document.querySelectorAll("dialog[open][data-open-modal]")) {
      dialog.close();
      dialog.showModal();
    }
    const live = document.querySelector("[data-live-session]");
    if (live) clearTurnBanners(live.dataset.status);
    document.addEventListener("session:status", (event) => clearTurnBanners(event.detail.status));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
