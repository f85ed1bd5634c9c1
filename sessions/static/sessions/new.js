/* New session form: show only the fields of the chosen project type. Without this script
 * every field shows, and the server ignores the other type's field. With a template chosen
 * (the templates app's picker, `name="template"`), the template's own agent options apply:
 * the advanced options are hidden and not sent. */
(function () {
  "use strict";

  const form = document.querySelector("[data-new-session-form]");
  if (!form) return;

  function sync() {
    const chosen = form.querySelector('input[name="project_type"]:checked');
    for (const group of form.querySelectorAll("[data-project]")) {
      group.hidden = Boolean(chosen) && group.dataset.project !== chosen.value;
    }
  }

  const advanced = form.querySelector("[data-advanced]");
  function syncAdvanced() {
    const template = form.querySelector('[name="template"]');
    if (!advanced) return;
    const fromTemplate = Boolean(template && template.value);
    advanced.hidden = fromTemplate;
    for (const input of advanced.querySelectorAll("input, select, textarea")) {
      input.disabled = fromTemplate;
    }
  }

  form.addEventListener("change", (event) => {
    if (event.target.name === "project_type") sync();
    if (event.target.name === "template") syncAdvanced();
  });
  sync();
  syncAdvanced();
})();
