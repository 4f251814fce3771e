// The privacy officer's page: /api/consents and /api/consents/decision. Untrusted text goes
// into the page as text nodes only.
const $ = (id) => document.getElementById(id);

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text == null ? "" : String(text);
  row.appendChild(td);
}

async function getJson(url) {
  const r = await fetch(url, { headers: { accept: "application/json" } });
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

async function showConsents(patient) {
  const data = await getJson(`/api/consents?patient=${encodeURIComponent(patient)}`);
  $("summary").textContent =
    `Domain ${data.domain} (${data.default}); ${data.consents.length} consent(s) on file` +
    (data.enforcing ? "" : " — enforcement is OFF");
  const body = $("consents").querySelector("tbody");
  body.replaceChildren();
  for (const c of data.consents) {
    const tr = document.createElement("tr");
    cell(tr, c.unique_id);
    cell(tr, c.status);
    cell(tr, c.in_force ? "yes" : "");
    cell(tr, c.start);
    cell(tr, c.stop);
    cell(tr, c.policies.map((p) => `${p.name || p.oid} (${p.oid})`).join("; "));
    cell(tr, c.registered_at);
    body.appendChild(tr);
  }
  const hist = $("history").querySelector("tbody");
  hist.replaceChildren();
  for (const h of data.history) {
    const tr = document.createElement("tr");
    cell(tr, h.at);
    cell(tr, h.unique_id);
    cell(tr, h.change);
    cell(tr, h.status);
    hist.appendChild(tr);
  }
}

async function decide() {
  const q = new URLSearchParams({ patient: $("patient").value });
  for (const k of ["organisation", "class", "confidentiality", "facility_type", "at"]) {
    if ($(k).value) q.set(k, $(k).value);
  }
  if ($("emergency").checked) q.set("emergency", "true");
  const data = await getJson(`/api/consents/decision?${q}`);
  const d = data.decision;
  $("decision").textContent =
    `${d.permit ? "PERMIT" : "DENY"}${d.break_the_glass ? " (break-the-glass)" : ""}: ${d.rule}` +
    (d.policy ? ` [policy ${d.policy_name} ${d.policy}]` : "");
}

function report(e) {
  $("decision").textContent = `Error: ${e.message}`;
}

$("patient-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const url = new URL(location.href);
  url.searchParams.set("patient", $("patient").value);
  history.replaceState(null, "", url);
  showConsents($("patient").value).catch(report);
});
$("decision-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  decide().catch(report);
});
const initial = new URL(location.href).searchParams.get("patient");
if (initial) {
  $("patient").value = initial;
  showConsents(initial).catch(report);
}
