// The settings window: renders what the core says and sends the forms back. No remote
// content, no framework; every error shown is the core's own sentence.

const invoke = (command, args) => window.__TAURI_INTERNALS__.invoke(command, args);

const $ = (selector) => document.querySelector(selector);
const problem = $("#problem");
const endpointForm = $("#endpoint-form");
const preferencesForm = $("#preferences-form");

function showProblem(error) {
  problem.textContent = error && error.message ? error.message : String(error);
  problem.hidden = false;
  problem.focus?.();
}

function clearProblem() {
  problem.hidden = true;
  problem.textContent = "";
}

function field(form, name) {
  return form.elements.namedItem(name);
}

function render(view) {
  const list = $("#endpoints");
  list.replaceChildren();
  $("#no-endpoints").hidden = view.endpoints.length > 0;
  for (const endpoint of view.endpoints) {
    const item = document.createElement("li");
    const title = document.createElement("strong");
    title.textContent = endpoint.name;
    const details = document.createElement("span");
    details.className = "muted";
    const who = endpoint.username ? `, ${endpoint.username}` : "";
    const password = endpoint.has_password ? ", password in keyring" : "";
    details.textContent = ` ${endpoint.url} (${endpoint.method}${who}${password})`;
    const refused = document.createElement("span");
    refused.className = "refused";
    refused.textContent = endpoint.password_refused
      ? "The IdP refused the stored password, so Rolecall no longer tries it: Edit and enter it again."
      : "";
    const issuer = document.createElement("span");
    issuer.className = "muted issuer";
    issuer.textContent = endpoint.issuer
      ? `IdP issuer (pinned at the first sign-in in the window): ${endpoint.issuer}`
      : "";
    const result = document.createElement("span");
    result.className = "result";
    result.setAttribute("role", "status");
    const edit = button("Edit", () => startEdit(endpoint));
    const test = button("Test", async () => {
      result.textContent = "Signing in…";
      try {
        result.textContent = await invoke("test_endpoint", { name: endpoint.name });
        loadRoles();
      } catch (error) {
        result.textContent = "";
        showProblem(error);
      }
    });
    const remove = button("Remove", async () => {
      if (!confirm(`Remove ${endpoint.name} and forget its password?`)) return;
      await act(() => invoke("remove_endpoint", { name: endpoint.name }));
    });
    item.append(title, details);
    if (endpoint.password_refused) item.append(document.createElement("br"), refused);
    if (endpoint.issuer) item.append(document.createElement("br"), issuer);
    item.append(document.createElement("br"), edit, test, remove, result);
    list.append(item);
  }
  const prefs = view.preferences;
  for (const name of ["active_profile", "profile_template", "session_duration_secs",
    "refresh_lead_minutes", "notify_lead_minutes"]) {
    field(preferencesForm, name).value = prefs[name];
  }
  const note = $("#active-profile-note");
  note.hidden = !view.proposed_profile;
  if (view.proposed_profile) {
    // The saved name holds keys Rolecall did not write: offer a free one, saved with the form.
    field(preferencesForm, "active_profile").value = view.proposed_profile;
    note.textContent = `The profile "${prefs.active_profile}" holds AWS keys Rolecall did not ` +
      `write, so Rolecall leaves it alone and proposes "${view.proposed_profile}". Save to use it.`;
  }
  field(preferencesForm, "default_region").value = prefs.default_region ?? "";
  field(preferencesForm, "default_output").value = prefs.default_output ?? "";
  $("#config-dir").textContent = view.config_dir;
  if (view.demo) {
    $("#demo").textContent = `This is Rolecall's demo, against a stand-in AD FS and AWS. ${view.demo}.`;
    $("#demo").hidden = false;
  }
  $("#credentials-file").textContent = view.credentials_file;
}

function button(label, onClick) {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = label;
  element.addEventListener("click", onClick);
  return element;
}

function startEdit(endpoint) {
  $("#endpoint-form-title").textContent = `Edit ${endpoint.name}`;
  field(endpointForm, "original").value = endpoint.name;
  field(endpointForm, "name").value = endpoint.name;
  field(endpointForm, "url").value = endpoint.url;
  field(endpointForm, "method").value = endpoint.method;
  field(endpointForm, "username").value = endpoint.username ?? "";
  field(endpointForm, "ca_file").value = endpoint.ca_file ?? "";
  field(endpointForm, "password").value = "";
  field(endpointForm, "password").placeholder = endpoint.password_refused
    ? "the IdP refused the stored password: enter it again"
    : endpoint.has_password
      ? "leave empty to keep the stored password"
      : "kept in your keyring, never in a file";
  field(endpointForm, "forget_issuer").checked = false;
  $("#forget-issuer").hidden = !endpoint.issuer;
  $("#pinned-issuer").textContent = endpoint.issuer ?? "";
  $("#cancel-edit").hidden = false;
  field(endpointForm, "name").focus();
}

function resetEdit() {
  endpointForm.reset();
  field(endpointForm, "original").value = "";
  $("#endpoint-form-title").textContent = "Add an endpoint";
  $("#forget-issuer").hidden = true;
  $("#cancel-edit").hidden = true;
}

async function act(call) {
  clearProblem();
  try {
    render(await call());
    return true;
  } catch (error) {
    showProblem(error);
    return false;
  }
}

endpointForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const original = field(endpointForm, "original").value || null;
  const password = field(endpointForm, "password").value;
  const form = {
    name: field(endpointForm, "name").value,
    url: field(endpointForm, "url").value,
    method: field(endpointForm, "method").value,
    username: field(endpointForm, "username").value || null,
    ca_file: field(endpointForm, "ca_file").value || null,
    // Editing with an empty password keeps the stored one.
    password: password === "" ? null : password,
    forget_issuer: field(endpointForm, "forget_issuer").checked,
  };
  if (await act(() => invoke("save_endpoint", { original, form }))) resetEdit();
});

$("#cancel-edit").addEventListener("click", resetEdit);

preferencesForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const number = (name) => Number(field(preferencesForm, name).value);
  const text = (name) => field(preferencesForm, name).value || null;
  await act(() => invoke("save_preferences", {
    form: {
      active_profile: field(preferencesForm, "active_profile").value,
      profile_template: field(preferencesForm, "profile_template").value,
      session_duration_secs: number("session_duration_secs"),
      refresh_lead_minutes: number("refresh_lead_minutes"),
      notify_lead_minutes: number("notify_lead_minutes"),
      default_region: text("default_region"),
      default_output: text("default_output"),
    },
  }));
});

async function loadRoles() {
  let rows = [];
  try {
    rows = await invoke("roles_view");
  } catch (error) {
    showProblem(error);
  }
  const body = $("#roles tbody");
  body.replaceChildren();
  $("#no-roles").hidden = rows.length > 0;
  $("#roles").hidden = rows.length === 0;
  $("#role-search-label").hidden = rows.length === 0;
  for (const row of rows) {
    const tr = document.createElement("tr");
    tr.dataset.search = `${row.endpoint} ${row.account} ${row.role}`.toLowerCase();
    const star = document.createElement("input");
    star.type = "checkbox";
    star.checked = row.favourite;
    star.setAttribute("aria-label", `Favourite: ${row.role} in ${row.account}`);
    star.addEventListener("change", async () => {
      clearProblem();
      try {
        await invoke("set_favourite", { roleArn: row.role_arn, on: star.checked });
      } catch (error) {
        star.checked = !star.checked;
        showProblem(error);
      }
    });
    const region = document.createElement("input");
    region.value = row.account_region ?? "";
    region.placeholder = "default";
    region.size = 14;
    region.setAttribute("aria-label", `Region for ${row.account}`);
    region.addEventListener("change", async () => {
      clearProblem();
      try {
        await invoke("set_region", { accountId: row.account_id, region: region.value });
      } catch (error) {
        showProblem(error);
      }
    });
    const cells = [star, text(row.account), text(row.role), region];
    for (const content of cells) {
      const td = document.createElement("td");
      td.append(content);
      tr.append(td);
    }
    body.append(tr);
  }
  filterRoles();
}

function text(value) {
  return document.createTextNode(value);
}

function filterRoles() {
  const query = $("#role-search").value.trim().toLowerCase();
  for (const tr of $("#roles tbody").children) {
    tr.hidden = query !== "" && !query.split(/\s+/).every((word) => tr.dataset.search.includes(word));
  }
}

$("#role-search").addEventListener("input", filterRoles);

act(() => invoke("settings_view"));
loadRoles();
// A sign-in from the tray (or Test) brings new roles.
window.addEventListener("focus", loadRoles);
