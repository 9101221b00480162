// The full-stack example's page: Stytch's B2B headless client, pointed at the local emulator.
//
// The backend (examples/fullstack/app.py) serves this bundle and /config.json (the emulator's
// URL and public token). Everything the SDK does goes to the emulator; the guarded API of the
// backend reads the session cookies the SDK sets. window.stytchDemo is what the buttons call,
// and what tests/browser drives.
import { createStytchB2BClient } from '@stytch/vanilla-js/b2b/headless';

const config = await (await fetch('/config.json')).json();

// `endpoints` is used verbatim (scheme and port kept); `customBaseUrl` would force https and
// drop the port. The SDK picks testAPIURL because the public token is a test one.
const stytch = createStytchB2BClient(config.public_token, {
  endpoints: { testAPIURL: config.stytch_url, liveAPIURL: config.stytch_url },
});

const $ = (id) => document.getElementById(id);

function outcome(promise) {
  // A Stytch error keeps its status and type: what the page (and the test) shows.
  return promise.then(
    (value) => ({ ok: true, value }),
    (error) => ({
      ok: false,
      status: error.status_code ?? null,
      error_type: error.error_type ?? error.name ?? String(error),
      message: error.error_message ?? error.message ?? String(error),
    }),
  );
}

function log(label, result) {
  const line = document.createElement('li');
  line.className = result.ok ? 'ok' : 'refused';
  line.textContent = result.ok
    ? `${label}: allowed`
    : `${label}: ${result.status ?? ''} ${result.error_type}`;
  $('log').prepend(line);
  return result;
}

async function backend(path) {
  // Same origin: the SDK's stytch_session / stytch_session_jwt cookies go along.
  const response = await fetch(path, { credentials: 'same-origin' });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  return { ok: response.ok, status: response.status, body };
}

async function permissionTable() {
  const all = await stytch.rbac.allPermissions();
  const checks = {};
  for (const [resource, actions] of Object.entries(all)) {
    checks[resource] = {};
    for (const action of Object.keys(actions)) {
      checks[resource][action] = await stytch.rbac.isAuthorized(resource, action);
    }
  }
  return { all, checks };
}

function renderPermissions(browser, python) {
  // One row per resource; each action green (both allow), grey (both deny) or red (they
  // disagree: never expected). stytch.self is left out: every member holds it.
  const table = $('permissions');
  table.replaceChildren();
  const head = table.insertRow();
  for (const text of ['resource', 'actions', 'agree']) {
    const th = document.createElement('th');
    th.textContent = text;
    head.append(th);
  }
  for (const [resource, actions] of Object.entries(browser)) {
    if (resource === 'stytch.self') continue;
    const row = table.insertRow();
    row.insertCell().textContent = resource;
    const cell = row.insertCell();
    let agree = true;
    for (const [action, allowed] of Object.entries(actions)) {
      const theirs = python?.[resource]?.[action];
      const same = theirs === undefined || theirs === allowed;
      agree &&= same;
      const chip = document.createElement('span');
      chip.className = same ? (allowed ? 'yes' : 'no') : 'disagree';
      chip.textContent = action;
      chip.title = `browser ${allowed ? 'allows' : 'denies'}, backend ${theirs ? 'allows' : 'denies'}`;
      cell.append(chip, ' ');
    }
    row.insertCell().textContent = agree ? '✓' : '✗';
  }
}

async function render() {
  const member = stytch.self.getSync();
  const session = stytch.session.getSync();
  const organization = stytch.organization.getSync();
  document.body.dataset.state = member && session ? 'logged-in' : 'logged-out';
  $('who').textContent = member
    ? `${member.name || member.email_address} — ${organization?.organization_name ?? ''}`
    : 'Not logged in';
  $('roles').textContent = session ? session.roles.join(', ') : '';
  if (member) $('email').value = member.email_address;
  if (member && session) {
    const [browser, me] = await Promise.all([stytch.rbac.allPermissions(), backend('/me')]);
    renderPermissions(browser, me.ok ? me.body.permissions : null);
  } else {
    $('permissions').replaceChildren();
  }
  await renderOutbox();
}

async function renderOutbox() {
  const response = await fetch('/dev/outbox');
  if (!response.ok) return;
  const mails = await response.json();
  const list = $('outbox');
  list.replaceChildren();
  for (const mail of mails.slice(-5).reverse()) {
    const item = document.createElement('li');
    const link = document.createElement('a');
    link.href = mail.url ?? '#';
    link.textContent = `${mail.kind} link for ${mail.email_address}`;
    item.append(link);
    list.append(item);
  }
}

const demo = {
  config,
  sendLogin: (email) =>
    outcome(
      stytch.magicLinks.email.loginOrSignup({
        email_address: email,
        organization_id: config.organization_id,
        login_redirect_url: `${window.location.origin}/`,
        signup_redirect_url: `${window.location.origin}/`,
      }),
    ),
  permissions: permissionTable,
  renameOrganization: (name) =>
    outcome(stytch.organization.update({ organization_name: name })).then((r) =>
      log(`organization.update(${name})`, r),
    ),
  invite: (email) =>
    outcome(stytch.magicLinks.email.invite({ email_address: email })).then((r) =>
      log(`magicLinks.email.invite(${email})`, r),
    ),
  auditLog: () =>
    backend(`/orgs/${config.organization_id}/audit-log`).then((r) =>
      log('GET /audit-log (backend guard)', r.ok ? { ok: true } : { ok: false, status: r.status, error_type: r.body?.error ?? 'refused' }),
    ),
  backend,
  logout: () => outcome(stytch.session.revoke()).then(render),
  member: () => stytch.self.getSync(),
  session: () => stytch.session.getSync(),
  ready: false,
};
window.stytchDemo = demo;

$('login').addEventListener('submit', async (event) => {
  event.preventDefault();
  const result = await demo.sendLogin($('email').value);
  $('sent').textContent = result.ok ? 'Magic link sent: open it from the outbox.' : result.error_type;
  await renderOutbox();
});
$('rename').addEventListener('click', () => demo.renameOrganization(`Acme ${Date.now() % 1000}`));
$('invite').addEventListener('click', () => demo.invite(`new-${Date.now()}@acme.test`));
$('audit').addEventListener('click', () => demo.auditLog());
$('logout').addEventListener('click', () => demo.logout());
for (const person of config.people) {
  const option = document.createElement('option');
  option.value = person.email_address;
  option.textContent = `${person.email_address} (${person.roles.join(', ')})`;
  $('email').append(option);
}

// Coming back from a magic link: ?stytch_token_type=multi_tenant_magic_links&token=...
if (stytch.parseAuthenticateUrl()) {
  const result = await outcome(stytch.authenticateByUrl({ session_duration_minutes: 60 }));
  window.history.replaceState({}, '', '/');
  if (!result.ok) log('magicLinks.authenticate', result);
}
await render();
demo.ready = true;
document.body.dataset.ready = 'true';
