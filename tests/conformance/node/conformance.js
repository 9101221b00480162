// The official Stytch Node SDK (npm `stytch`, pinned in package.json) against the emulator.
//
// Run by tests/conformance/test_node_sdk.py, which starts the emulator on 127.0.0.1, seeds
// it, and passes everything in the CONFORMANCE_INPUT environment variable (JSON):
//   {base_url, project_id, secret, acme, globex, members: {admin, editor, viewer,
//    outsider: {member_id, session_token, session_jwt, member_session_id}}}
// Prints one JSON object ({results: [{name, ok, error?}], passed, failed}) and then the
// summary line "N passed, M failed". Exits 1 when a check failed, 2 on bad input.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const stytch = require("stytch");

function fail(message) {
  throw new Error(message);
}

function expect(condition, message) {
  if (!condition) fail(message);
}

function equal(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) fail(`${what}: expected ${e}, got ${a}`);
}

async function rejects(promise, status, errorType, what) {
  try {
    await promise;
  } catch (err) {
    if (status === null) {
      // A local (no network) failure of the SDK: a ClientError with a code.
      equal(err.code, errorType, `${what}: error code`);
      return err;
    }
    expect(err instanceof stytch.StytchError, `${what}: ${err} is not a StytchError`);
    equal([err.status_code, err.error_type], [status, errorType], `${what}: status, error_type`);
    return err;
  }
  fail(`${what}: expected a ${status ?? "local"} ${errorType}, but the call succeeded`);
}

function loopback(baseURL) {
  const url = new URL(baseURL);
  expect(url.protocol === "http:", `base_url must be http: ${baseURL}`);
  expect(url.hostname === "127.0.0.1", `base_url must be on 127.0.0.1: ${baseURL}`);
  return url.toString();
}

function checks(input) {
  // `custom_base_url` only accepts https:// (the SDK throws otherwise); a plain-HTTP
  // loopback server is reached through `env`, which the SDK uses verbatim as the base URL.
  const client = new stytch.B2BClient({
    project_id: input.project_id,
    secret: input.secret,
    env: loopback(input.base_url),
  });
  const { acme, globex } = input;
  const m = input.members;
  const as = (who) => ({ authorization: { session_token: m[who].session_token } });
  const check = (resource_id, action, organization_id = acme) => ({
    organization_id,
    resource_id,
    action,
  });

  return {
    async "rbac.policy"() {
      const { policy } = await client.rbac.policy();
      const roles = policy.roles.map((r) => r.role_id);
      expect(roles.includes("editor") && roles.includes("stytch_admin"), `roles: ${roles}`);
      expect(
        policy.resources.some((r) => r.resource_id === "documents"),
        "documents resource",
      );
    },

    async "sessions.authenticate without authorization_check"() {
      const resp = await client.sessions.authenticate({ session_token: m.editor.session_token });
      equal(resp.member_session.member_id, m.editor.member_id, "member_id");
      equal(resp.member_session.organization_id, acme, "organization_id");
      expect(resp.member_session.roles.includes("editor"), "session roles hold editor");
      expect(resp.verdict == null, "no verdict without a check");
      expect(typeof resp.session_jwt === "string" && resp.session_jwt, "a session JWT");
    },

    async "sessions.authenticate with authorization_check (allowed)"() {
      const resp = await client.sessions.authenticate({
        session_token: m.editor.session_token,
        authorization_check: check("documents", "edit"),
      });
      equal(resp.verdict.authorized, true, "verdict.authorized");
      expect(resp.verdict.granting_roles.includes("editor"), "editor grants it");
    },

    async "sessions.authenticate with authorization_check (denied)"() {
      await rejects(
        client.sessions.authenticate({
          session_token: m.viewer.session_token,
          authorization_check: check("documents", "edit"),
        }),
        403,
        "session_authorization_error",
        "viewer editing documents",
      );
    },

    async "sessions.authenticate with authorization_check (other organization)"() {
      await rejects(
        client.sessions.authenticate({
          session_token: m.editor.session_token,
          authorization_check: check("documents", "read", globex),
        }),
        403,
        "session_authorization_tenancy_error",
        "acme editor checked in globex",
      );
    },

    async "sessions.authenticateJwtLocal"() {
      const session = await client.sessions.authenticateJwtLocal({
        session_jwt: m.editor.session_jwt,
      });
      equal(session.member_id, m.editor.member_id, "member_id");
      equal(session.member_session_id, m.editor.member_session_id, "member_session_id");
      equal(session.organization_id, acme, "organization_id");
      equal(session.organization_slug, "acme", "organization_slug");
      expect(session.roles.includes("editor"), `roles: ${session.roles}`);
    },

    async "sessions.authenticateJwtLocal with authorization_check"() {
      const session = await client.sessions.authenticateJwtLocal({
        session_jwt: m.editor.session_jwt,
        authorization_check: check("documents", "edit"),
      });
      equal(session.member_id, m.editor.member_id, "member_id");
      await rejects(
        client.sessions.authenticateJwtLocal({
          session_jwt: m.viewer.session_jwt,
          authorization_check: check("documents", "edit"),
        }),
        null,
        "invalid_permissions",
        "viewer editing documents, locally",
      );
      await rejects(
        client.sessions.authenticateJwtLocal({
          session_jwt: m.editor.session_jwt,
          authorization_check: check("documents", "read", globex),
        }),
        null,
        "tenancy_mismatch",
        "acme editor checked in globex, locally",
      );
      await rejects(
        client.sessions.authenticateJwtLocal({ session_jwt: `${m.editor.session_jwt}x` }),
        null,
        "jwt_invalid",
        "a tampered JWT",
      );
    },

    async organizations() {
      const created = await client.organizations.create({
        organization_name: "Node Org",
        organization_slug: "node-org",
        email_allowed_domains: ["node.test"],
      });
      const id = created.organization.organization_id;
      equal(created.organization.organization_slug, "node-org", "slug");
      const got = await client.organizations.get({ organization_id: id });
      equal(got.organization.organization_name, "Node Org", "name");
      const updated = await client.organizations.update({
        organization_id: id,
        organization_name: "Node Org 2",
      });
      equal(updated.organization.organization_name, "Node Org 2", "updated name");
      const bySlug = await client.organizations.search({
        query: {
          operator: "AND",
          operands: [{ filter_name: "organization_slugs", filter_value: ["node-org", "acme"] }],
        },
      });
      equal(
        bySlug.organizations.map((o) => o.organization_slug).sort(),
        ["acme", "node-org"],
        "search by slugs",
      );
      const byDomain = await client.organizations.search({
        query: {
          operator: "OR",
          operands: [{ filter_name: "allowed_domains", filter_value: ["node.test"] }],
        },
      });
      equal(
        byDomain.organizations.map((o) => o.organization_id),
        [id],
        "search by allowed_domains",
      );
      await rejects(
        client.organizations.search({
          query: {
            operator: "AND",
            operands: [{ filter_name: "organization_external_ids", filter_value: ["x"] }],
          },
        }),
        400,
        "organization_search_filter_name_not_recognized",
        "an undocumented filter",
      );
      const metrics = await client.organizations.metrics({ organization_id: acme });
      equal(metrics.member_count, 3, "acme member_count");
      const deleted = await client.organizations.delete({ organization_id: id });
      equal(deleted.organization_id, id, "deleted id");
      await rejects(
        client.organizations.get({ organization_id: id }),
        404,
        "organization_not_found",
        "a deleted organization",
      );
    },

    async "members with the member-session option"() {
      const created = await client.organizations.members.create({
        organization_id: acme,
        email_address: "node@acme.test",
        name: "Node",
      });
      const id = created.member_id;
      const got = await client.organizations.members.get({
        organization_id: acme,
        member_id: id,
      });
      equal(got.member.email_address, "node@acme.test", "email");
      const allowed = await client.organizations.members.update(
        { organization_id: acme, member_id: id, name: "Renamed by admin" },
        as("admin"),
      );
      equal(allowed.member.name, "Renamed by admin", "admin's update");
      await rejects(
        client.organizations.members.update(
          { organization_id: acme, member_id: id, name: "By viewer" },
          as("viewer"),
        ),
        403,
        "session_authorization_error",
        "a viewer renaming a member",
      );
      await rejects(
        client.organizations.members.update(
          { organization_id: acme, member_id: id, name: "By outsider" },
          as("outsider"),
        ),
        403,
        "session_authorization_tenancy_error",
        "another organization's admin renaming a member",
      );
      const found = await client.organizations.members.search(
        {
          organization_ids: [acme],
          query: {
            operator: "AND",
            operands: [{ filter_name: "member_email_fuzzy", filter_value: "node@" }],
          },
        },
        as("admin"),
      );
      equal(
        found.members.map((x) => x.member_id),
        [id],
        "search by member_email_fuzzy",
      );
      await rejects(
        client.organizations.members.search({ organization_ids: [acme] }, as("outsider")),
        403,
        "session_authorization_tenancy_error",
        "another organization's admin searching acme",
      );
      const removed = await client.organizations.members.delete(
        { organization_id: acme, member_id: id },
        as("admin"),
      );
      equal(removed.member_id, id, "deleted member");
    },

    async invites() {
      const invited = await client.magicLinks.email.invite({
        organization_id: acme,
        email_address: "invitee@acme.test",
      });
      equal(invited.member.status, "invited", "status");
      await rejects(
        client.magicLinks.email.invite(
          { organization_id: acme, email_address: "second@acme.test" },
          as("viewer"),
        ),
        403,
        "session_authorization_error",
        "a viewer inviting",
      );
      const byAdmin = await client.magicLinks.email.invite(
        { organization_id: acme, email_address: "third@acme.test" },
        as("admin"),
      );
      equal(byAdmin.member.email_address, "third@acme.test", "admin's invite");
    },

    async sso() {
      const oidc = await client.sso.oidc.createConnection({
        organization_id: acme,
        display_name: "Node OIDC",
      });
      const oidcId = oidc.connection.connection_id;
      const active = await client.sso.oidc.updateConnection({
        organization_id: acme,
        connection_id: oidcId,
        issuer: "https://idp.test",
        client_id: "client",
        client_secret: "secret",
        authorization_url: "https://idp.test/authorize",
        token_url: "https://idp.test/token",
        userinfo_url: "https://idp.test/userinfo",
        jwks_url: "https://idp.test/jwks",
      });
      equal(active.connection.status, "active", "OIDC status");
      const saml = await client.sso.saml.createConnection(
        { organization_id: acme, display_name: "Node SAML" },
        as("admin"),
      );
      const listed = await client.sso.getConnections({ organization_id: acme });
      equal(
        [listed.oidc_connections.length, listed.saml_connections.length],
        [1, 1],
        "connections",
      );
      await rejects(
        client.sso.getConnections({ organization_id: acme }, as("viewer")),
        403,
        "session_authorization_error",
        "a viewer listing SSO connections",
      );
      const gone = await client.sso.deleteConnection({
        organization_id: acme,
        connection_id: saml.connection.connection_id,
      });
      equal(gone.connection_id, saml.connection.connection_id, "deleted connection");
      const found = await client.organizations.search({
        query: {
          operator: "AND",
          operands: [{ filter_name: "sso_connection_id", filter_value: oidcId }],
        },
      });
      equal(
        found.organizations.map((o) => o.organization_id),
        [acme],
        "search by sso_connection_id",
      );
    },

    async scim() {
      const created = await client.scim.connection.create({
        organization_id: acme,
        display_name: "Node SCIM",
      });
      const id = created.connection.connection_id;
      expect(created.connection.bearer_token, "a bearer token");
      const got = await client.scim.connection.get({ organization_id: acme });
      equal(got.connection.connection_id, id, "get");
      const started = await client.scim.connection.rotateStart({
        organization_id: acme,
        connection_id: id,
      });
      expect(started.connection.next_bearer_token, "a next bearer token");
      await client.scim.connection.rotateComplete({ organization_id: acme, connection_id: id });
      await rejects(
        client.scim.connection.get({ organization_id: acme }, as("viewer")),
        403,
        "session_authorization_error",
        "a viewer reading the SCIM connection",
      );
      const deleted = await client.scim.connection.delete(
        { organization_id: acme, connection_id: id },
        as("admin"),
      );
      equal(deleted.connection_id, id, "deleted connection");
    },

    async "sessions.revoke"() {
      await client.sessions.revoke({ member_session_id: m.viewer.member_session_id });
      await rejects(
        client.sessions.authenticate({ session_token: m.viewer.session_token }),
        404,
        "session_not_found",
        "a revoked session",
      );
      const sessions = await client.sessions.get({
        organization_id: acme,
        member_id: m.viewer.member_id,
      });
      equal(sessions.member_sessions.length, 0, "the viewer's sessions after revoke");
    },
  };
}

async function main() {
  let input;
  try {
    input = JSON.parse(process.env.CONFORMANCE_INPUT || "");
  } catch (err) {
    console.error(`CONFORMANCE_INPUT must hold the run's JSON input: ${err.message}`);
    process.exit(2);
  }
  let all;
  try {
    all = checks(input);
  } catch (err) {
    console.error(String(err.message || err));
    process.exit(2);
  }
  const results = [];
  for (const [name, run] of Object.entries(all)) {
    try {
      await run();
      results.push({ name, ok: true });
    } catch (err) {
      results.push({ name, ok: false, error: String(err && err.stack ? err.stack : err) });
    }
  }
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  const manifest = path.join(__dirname, "node_modules", "stytch", "package.json");
  const sdk = JSON.parse(fs.readFileSync(manifest, "utf8")).version;
  console.log(JSON.stringify({ sdk, results, passed, failed }));
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

main();
