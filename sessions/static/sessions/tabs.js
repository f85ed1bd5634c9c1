/*
 * Tabs over panels of one page: a [data-tabs] nav of links to the panels' ids. Without
 * JavaScript the links jump to panels that all show; with it, one panel shows at a time and
 * the address keeps the open tab (#changes), so a reload or a shared link opens it again.
 */
(function () {
  "use strict";

  for (const nav of document.querySelectorAll("[data-tabs]")) {
    const tabs = Array.from(nav.querySelectorAll('a[role="tab"]'));
    const panelOf = (tab) => document.getElementById(tab.getAttribute("aria-controls"));

    function select(tab, focus) {
      for (const other of tabs) {
        const selected = other === tab;
        other.setAttribute("aria-selected", String(selected));
        other.tabIndex = selected ? 0 : -1;
        panelOf(other).hidden = !selected;
      }
      if (focus) tab.focus();
    }

    function fromHash() {
      return tabs.find((tab) => tab.hash === window.location.hash) || tabs[0];
    }

    for (const tab of tabs) {
      tab.addEventListener("click", (event) => {
        event.preventDefault();
        // Replace, not push: Back leaves the page rather than walking through its tabs.
        window.history.replaceState(null, "", tab.hash);
        select(tab, false);
      });
    }
    // Arrow keys move between tabs, as in any tab list.
    nav.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      const current = tabs.indexOf(document.activeElement);
      if (current < 0) return;
      const next = tabs[(current + step + tabs.length) % tabs.length];
      window.history.replaceState(null, "", next.hash);
      select(next, true);
    });
    window.addEventListener("hashchange", () => select(fromHash(), false));
    select(fromHash(), false);
  }
})();
