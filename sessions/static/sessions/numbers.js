/*
 * Numbers in the reader's locale, on every page: counts with the locale's grouping (12,345 or
 * 12 345 or 12.345), dollar amounts to four places at most.
 *
 * The server renders a raw value beside its text (data-number="12345", data-usd="0.1234") so
 * that the page reads without JavaScript; this file rewrites the text in the reader's locale.
 * Live updates (live.js, list.js) go through show() so both paths format alike.
 *
 *   window.orchestratorNumbers.integer(value) -> "12,345"
 *   window.orchestratorNumbers.usd(value)     -> "$0.1234"
 *   window.orchestratorNumbers.show(element, value) -> sets the raw value and the text
 *   window.orchestratorNumbers.apply(root)    -> formats every [data-number], [data-usd] in root
 */
(function () {
  "use strict";

  const integers = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
  const dollars = new Intl.NumberFormat(undefined, {
    style: "currency",
    currency: "USD",
    minimumFractionDigits: 2,
    maximumFractionDigits: 4,
  });

  function integer(value) {
    const number = Number(value);
    return Number.isFinite(number) ? integers.format(number) : "";
  }

  function usd(value) {
    const number = Number(value);
    return Number.isFinite(number) ? dollars.format(number) : "";
  }

  // An element is either a count (data-number) or an amount (data-usd); its attribute says which.
  function show(element, value) {
    if (!element || value === undefined || value === null || value === "") return;
    if ("usd" in element.dataset) {
      element.dataset.usd = String(value);
      element.textContent = usd(value);
    } else {
      element.dataset.number = String(value);
      element.textContent = integer(value);
    }
  }

  function apply(root) {
    for (const element of root.querySelectorAll("[data-number], [data-usd]")) {
      const raw = "usd" in element.dataset ? element.dataset.usd : element.dataset.number;
      // An empty attribute marks a slot a template fills later: nothing to format yet.
      if (raw !== "") show(element, raw);
    }
  }

  window.orchestratorNumbers = { integer, usd, show, apply };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => apply(document));
  } else {
    apply(document);
  }
})();
