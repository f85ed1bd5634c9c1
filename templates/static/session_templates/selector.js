/* The new-session form's template selector: choosing a template fills the form from it,
 * asks for its variables, previews the prompt with them filled in, and sends the form to
 * the template launch (which checks it all again). No template: the plain form. */
(function () {
  "use strict";

  const picker = document.querySelector("[data-template-picker]");
  const form = picker && picker.closest("form");
  if (!form) return;
  const templates = JSON.parse(document.getElementById("templates-data").textContent);
  const posted = JSON.parse(document.getElementById("templates-posted-variables").textContent);
  const select = picker.querySelector("[data-template-select]");
  const variablesBox = picker.querySelector("[data-template-variables]");
  const previewBox = picker.querySelector("[data-template-preview-box]");
  const preview = picker.querySelector("[data-template-preview]");
  const settings = picker.querySelector("[data-template-settings]");
  const description = picker.querySelector("[data-template-description]");
  const modeField = form.querySelector('[data-field="mode"]');
  const PLACEHOLDER = /\{([a-z][a-z0-9_]*)\}/g;

  function field(name) {
    return form.elements.namedItem(name);
  }

  function setValue(name, value, overwrite) {
    const input = field(name);
    if (!input || value === undefined || value === null || value === "") return;
    if (overwrite || !input.value) input.value = value;
  }

  function chooseProjectType(type) {
    if (!type) return;
    const radio = form.querySelector(`input[name="project_type"][value="${type}"]`);
    if (radio && !radio.checked) {
      radio.checked = true;
      radio.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }

  function variableInputs(template) {
    variablesBox.replaceChildren();
    for (const variable of template.variables) {
      const wrapper = document.createElement("div");
      wrapper.className = "field";
      wrapper.dataset.variable = variable.name;
      const label = document.createElement("label");
      const id = `id_variable-${variable.name}`;
      label.htmlFor = id;
      label.textContent = variable.name + (variable.required ? " (required)" : "");
      const input = document.createElement("input");
      input.type = "text";
      input.id = id;
      input.name = `variable-${variable.name}`;
      input.placeholder = variable.default || "";
      input.value = posted[variable.name] || "";
      wrapper.append(label, input);
      if (variable.description) {
        const help = document.createElement("p");
        help.className = "help";
        help.textContent = variable.description;
        wrapper.append(help);
      }
      variablesBox.append(wrapper);
    }
    variablesBox.hidden = template.variables.length === 0;
  }

  // What the launch fills in when a variable is left empty: the source, then the default.
  function automatic(name) {
    if (name === "repo") {
      const type = form.querySelector('input[name="project_type"]:checked');
      return type && type.value === "local" ? field("local_path").value : field("github_repo").value;
    }
    if (name === "branch") return field("git_ref") ? field("git_ref").value : "";
    return "";
  }

  function renderPreview() {
    const template = templates[select.value];
    if (!template) return;
    const declared = new Map(template.variables.map((v) => [v.name, v]));
    const prompt = field("initial_prompt").value;
    preview.textContent = prompt.replace(PLACEHOLDER, (whole, name) => {
      const variable = declared.get(name);
      if (!variable) return whole;
      const input = field(`variable-${name}`);
      return (input && input.value) || automatic(name) || variable.default || `{${name}: missing}`;
    });
  }

  function describeSettings(metadata) {
    const parts = [];
    if (metadata.model) parts.push(`model ${metadata.model}`);
    if (metadata.allowedTools) parts.push(`tools ${metadata.allowedTools.join(", ")}`);
    if (metadata.permissionMode) parts.push(`${metadata.permissionMode} permissions`);
    if (metadata.maxTurns) parts.push(`at most ${metadata.maxTurns} turns`);
    if (metadata.maxDuration) parts.push(`at most ${Math.round(metadata.maxDuration / 60)} min`);
    if (metadata.autoClose) parts.push("auto-close");
    return parts.length ? `(${parts.join(" · ")})` : "";
  }

  function apply(overwrite) {
    const template = templates[select.value];
    previewBox.hidden = !template;
    if (modeField) modeField.hidden = Boolean(template);
    if (!template) {
      form.action = picker.dataset.plainUrl;
      variablesBox.hidden = true;
      variablesBox.replaceChildren();
      description.textContent = "";
      return;
    }
    form.action = picker.dataset.launchUrl;
    const managed = form.querySelector('input[name="mode"][value="managed"]');
    if (managed) managed.checked = true;
    description.textContent = template.description;
    settings.textContent = describeSettings(template.metadata);
    setValue("name", template.name, overwrite);
    chooseProjectType(template.project_type);
    for (const name of ["github_repo", "git_ref", "local_path"]) {
      setValue(name, template[name], overwrite);
    }
    setValue("initial_prompt", template.prompt, overwrite);
    variableInputs(template);
    renderPreview();
  }

  select.addEventListener("change", () => apply(true));
  form.addEventListener("input", renderPreview);
  form.addEventListener("change", (event) => {
    if (event.target !== select) renderPreview();
  });
  if (select.value) apply(false);
})();
