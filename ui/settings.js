// The settings window: renders the view the core builds and sends the person's changes back as
// actions. No remote content, no framework; every error shown is the core's own sentence.

const { invoke, Channel } = window.__TAURI__.core;

const $ = (selector) => document.querySelector(selector);
const problem = $("#problem");
const endpointForm = $("#endpoint-form");
const preferencesForm = $("#preferences-form");

const PREFERENCE_NUMBERS = ["session_duration_secs", "refresh_lead_minutes", "notify_lead_minutes"];
const PREFERENCE_TEXTS = ["active_profile", "profile_template", "default_region", "default_output"];

// What each preference field holds in the settings file, and what the window last put in it:
// a field whose value differs from what was put there holds the person's unsaved edit, which
// no new view overwrites.
const saved = {};
const rendered = {};
let shownRoles = "";
let shownEndpoints = "";
// What Test said for each endpoint, and which are being tested: a new view redraws the list
// while a test runs, and the answer belongs to the endpoint, not to the element.
const results = new Map();
const testing = new Set();
const resultLines = new Map();
// Where a password typed into the form is kept (the demo keeps it in memory).
let passwordHome = "kept in your keyring, never in a file";

function setResult(name, text) {
  results.set(name, text);
  const line = resultLines.get(name);
  if (line) line.textContent = text;
}

function showProblem(error) {
  problem.textContent = error && error.message ? error.message : String(error);
  problem.hidden = false;
  // A refused entry is announced (the banner is an alert) and the person stays in the form to
  // fix it; anything else takes the focus to the message.
  if (!error || error.code !== "invalid_input") problem.focus();
}

function clearProblem() {
  problem.hidden = true;
  problem.textContent = "";
}

function field(form, name) {
  return form.elements.namedItem(name);
}

function render(view) {
  passwordHome = view.password_place === "memory"
    ? "kept in memory until Rolecall quits, never in a file"
    : "kept in your keyring, never in a file";
  if (!field(endpointForm, "original").value) field(endpointForm, "password").placeholder = passwordHome;
  renderEndpoints(view.endpoints);
  renderPreferences(view);
  renderRoles(view.roles);
  $("#config-dir").textContent = view.config_dir;
  $("#credentials-file").textContent = view.credentials_file;
  const files = $("#file-problems");
  files.replaceChildren(...view.problems.map((sentence) => {
    const item = document.createElement("li");
    item.textContent = sentence;
    return item;
  }));
  files.hidden = view.problems.length === 0;
  if (view.demo) {
    $("#demo").textContent = view.demo;
    $("#demo").hidden = false;
    $("#start-at-login").textContent =
      "Not in the demo: it leaves your own login items alone. Outside the demo, use Start at login in the tray menu.";
  }
}

function renderEndpoints(endpoints) {
  const key = JSON.stringify(endpoints);
  if (key === shownEndpoints) return;
  shownEndpoints = key;
  const list = $("#endpoints");
  list.replaceChildren();
  resultLines.clear();
  $("#no-endpoints").hidden = endpoints.length > 0;
  for (const endpoint of endpoints) {
    const item = document.createElement("li");
    const title = document.createElement("strong");
    title.textContent = endpoint.name;
    const details = document.createElement("span");
    details.className = "muted";
    const who = endpoint.username ? `, ${endpoint.username}` : "";
    const password = {
      keyring: ", password in your keyring",
      memory: ", password in memory until Rolecall quits",
    }[endpoint.password] ?? ", no password stored";
    const proxy = endpoint.proxy === "system" ? "" : `, proxy ${endpoint.proxy}`;
    details.textContent = ` ${endpoint.url} (${endpoint.method}${who}${password}${proxy})`;
    const heading = document.createElement("div");
    heading.append(title, details);
    item.append(heading);
    if (endpoint.password_refused) {
      item.append(line("refused",
        "The IdP refused the stored password, so Rolecall no longer tries it: Edit and enter it again."));
    }
    const offered = endpoint.claims_providers_offered ?? [];
    if (endpoint.claims_provider) {
      item.append(line("muted claims-provider", `Claims provider: ${endpoint.claims_provider}`));
    } else if (offered.length > 0) {
      item.append(line("refused claims-provider",
        `AD FS asks which claims provider to sign in with (${offered.map(providerName).join(", ")}): ` +
        "Edit and choose one."));
    }
    if (endpoint.issuer) {
      item.append(line("muted issuer",
        `IdP issuer (pinned at the first sign-in in the window): ${endpoint.issuer}`));
    }
    if (endpoint.last_sign_in) item.append(lastSignInPanel(endpoint.name, endpoint.last_sign_in));
    const name = endpoint.name;
    const result = document.createElement("span");
    result.className = "result";
    result.setAttribute("role", "status");
    result.textContent = results.get(name) ?? "";
    resultLines.set(name, result);
    const edit = button("Edit", `Edit ${name}`, () => startEdit(endpoint));
    const test = button("Test", `Test ${name}`, async () => {
      if (testing.has(name)) return;
      clearProblem();
      testing.add(name);
      setResult(name, "Signing in…");
      try {
        setResult(name, await invoke("test_endpoint", { name }));
      } catch (error) {
        if (error && error.code === "needs_person") {
          setResult(name, error.message);
        } else {
          setResult(name, "");
          showProblem(error);
        }
      } finally {
        testing.delete(name);
      }
    });
    const remove = button("Remove", `Remove ${endpoint.name}`, async () => {
      if (!confirm(`Remove ${endpoint.name} and forget its password? Its profiles stay in your ` +
        "AWS files until they expire, and Rolecall no longer renews them.")) return;
      await act(() => invoke("remove_endpoint", { name: endpoint.name }));
    });
    const actions = document.createElement("div");
    actions.append(edit, test, remove, result);
    item.append(actions);
    list.append(item);
  }
}

// What the last sign-in's assertion said, and STS's last refusal word for word: IdP and AWS
// text, so only ever set as text.
function lastSignInPanel(name, rows) {
  const panel = document.createElement("div");
  panel.className = "last-sign-in";
  panel.setAttribute("role", "group");
  panel.setAttribute("aria-label", `Last sign-in to ${name}`);
  const title = document.createElement("strong");
  title.textContent = "Last sign-in";
  const list = document.createElement("dl");
  for (const row of rows) {
    const label = document.createElement("dt");
    label.textContent = row.label;
    const value = document.createElement("dd");
    value.textContent = row.value;
    if (row.label === "STS refused") value.className = "refused";
    list.append(label, value);
  }
  panel.append(title, list);
  return panel;
}

function providerName(provider) {
  return provider.name && provider.name !== provider.id ? `${provider.name} (${provider.id})` : provider.id;
}

function line(className, text) {
  const element = document.createElement("div");
  element.className = className;
  element.textContent = text;
  return element;
}

function renderPreferences(view) {
  const prefs = view.preferences;
  for (const name of [...PREFERENCE_NUMBERS, ...PREFERENCE_TEXTS]) {
    const value = String(prefs[name] ?? "");
    // The saved name holds keys Rolecall did not write: offer a free one, saved with the form.
    const shown = name === "active_profile" && view.proposed_profile ? view.proposed_profile : value;
    const input = field(preferencesForm, name);
    if (!(name in rendered) || input.value === rendered[name]) input.value = shown;
    saved[name] = value;
    rendered[name] = shown;
  }
  const note = $("#active-profile-note");
  note.hidden = !view.proposed_profile;
  note.textContent = view.proposed_profile
    ? `The profile "${prefs.active_profile}" holds AWS keys Rolecall did not write, so Rolecall ` +
      `leaves it alone and proposes "${view.proposed_profile}". Save to use it.`
    : "";
}

/// Only the preferences the person changed: the rest keep what the file has.
function preferencesPatch() {
  const patch = {};
  for (const name of PREFERENCE_NUMBERS) {
    const value = field(preferencesForm, name).value;
    if (value !== saved[name]) patch[name] = Number(value);
  }
  for (const name of PREFERENCE_TEXTS) {
    const value = field(preferencesForm, name).value;
    if (value !== saved[name]) patch[name] = value === "" ? null : value;
  }
  return patch;
}

function button(label, accessibleName, onClick) {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = label;
  element.setAttribute("aria-label", accessibleName);
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
  field(endpointForm, "claims_provider").value = endpoint.claims_provider ?? "";
  field(endpointForm, "keep_me_signed_in").checked = endpoint.keep_me_signed_in;
  // The providers AD FS offered, as choices; any other identifier may still be typed.
  $("#claims-providers").replaceChildren(...(endpoint.claims_providers_offered ?? []).map((provider) => {
    const option = document.createElement("option");
    option.value = provider.id;
    option.label = provider.name;
    return option;
  }));
  field(endpointForm, "password").value = "";
  field(endpointForm, "password").placeholder = endpoint.password_refused
    ? "the IdP refused the stored password: enter it again"
    : endpoint.password
      ? "leave empty to keep the stored password"
      : passwordHome;
  field(endpointForm, "forget_issuer").checked = false;
  $("#forget-issuer").hidden = !endpoint.issuer;
  $("#pinned-issuer").textContent = endpoint.issuer ?? "";
  $("#cancel-edit").hidden = false;
  field(endpointForm, "name").focus();
}

function resetEdit() {
  endpointForm.reset();
  field(endpointForm, "original").value = "";
  field(endpointForm, "password").placeholder = passwordHome;
  $("#endpoint-form-title").textContent = "Add an endpoint";
  $("#claims-providers").replaceChildren();
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
  const original = field(endpointForm, "original").value;
  const password = field(endpointForm, "password").value;
  const shown = {
    url: field(endpointForm, "url").value,
    method: field(endpointForm, "method").value,
    username: field(endpointForm, "username").value || null,
    ca_file: field(endpointForm, "ca_file").value || null,
    claims_provider: field(endpointForm, "claims_provider").value || null,
    keep_me_signed_in: field(endpointForm, "keep_me_signed_in").checked,
    // An empty password keeps the stored one.
    password: password === "" ? null : password,
  };
  const name = field(endpointForm, "name").value;
  // What the form does not show (the proxy, the trusted hosts) the core keeps as it is.
  const request = original
    ? { kind: "edit", name: original, new_name: name, ...shown,
        forget_issuer: field(endpointForm, "forget_issuer").checked }
    : { kind: "add", name, ...shown };
  if (await act(() => invoke("save_endpoint", { request }))) resetEdit();
});

$("#cancel-edit").addEventListener("click", resetEdit);

preferencesForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  await act(() => invoke("save_preferences", { patch: preferencesPatch() }));
});

function renderRoles(rows) {
  // A new view often has the same roles: keep the table, and what is typed in it.
  const key = JSON.stringify(rows);
  if (key === shownRoles) return;
  shownRoles = key;
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
    for (const content of [star, accountCell(row), textNode(row.role), region]) {
      const td = document.createElement("td");
      td.append(content);
      tr.append(td);
    }
    body.append(tr);
  }
  filterRoles();
}

// Where an account's name came from (the core's NameSource), in words beside the name.
const NAME_SOURCES = {
  page: "alias from AWS",
  cache: "alias from an earlier sign-in",
  settings: "name from your settings",
  none: "no name known",
};

function accountCell(row) {
  const cell = document.createDocumentFragment();
  cell.append(textNode(row.account));
  const said = NAME_SOURCES[row.account_name_source];
  if (said) {
    const source = document.createElement("small");
    source.className = "muted name-source";
    source.textContent = said;
    if (row.account_name_source !== "page") {
      source.title = "Name accounts in settings.toml under [preferences.account_names]";
    }
    cell.append(document.createElement("br"), source);
  }
  return cell;
}

function textNode(value) {
  return document.createTextNode(value);
}

function filterRoles() {
  const query = $("#role-search").value.trim().toLowerCase();
  for (const tr of $("#roles tbody").children) {
    tr.hidden = query !== "" && !query.split(/\s+/).every((word) => tr.dataset.search.includes(word));
  }
}

$("#role-search").addEventListener("input", filterRoles);

// The first view now; every later one (a sign-in from the tray, Test, a change elsewhere)
// arrives on the channel.
const updates = new Channel();
updates.onmessage = render;
act(() => invoke("settings_view", { updates }));
