/* New session form: show only the fields of the chosen project type. Without this script
 * every field shows, and the server ignores the other type's field. */
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

  form.addEventListener("change", (event) => {
    if (event.target.name === "project_type") sync();
  });
  sync();
})();
