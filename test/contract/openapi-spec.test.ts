import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { API_SCOPES } from "../../src/admin/scopes";
import { AUDIT_EVENT_TYPES } from "../../src/audit/audit-event";
import { FORWARD_AUTH_OPERATION } from "../../src/sessions/forward-auth";
import { ERROR_CATALOGUE } from "../../src/platform/errors";
import { expectMatchesSpec, loadOpenApiSpec, OPENAPI_PATH, validateOpenApiFile, type SpecResponse } from "../support/openapi";

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }>; security?: unknown[] }>>;
  components: { schemas: Record<string, { enum?: string[] }>; securitySchemes: Record<string, unknown> };
};

const HTTP_METHODS = ["get", "put", "post", "delete", "patch"];
const root = path.resolve(__dirname, "../..");

/** `router.get("/tenants/:slug", ...)` in a routes file -> "GET /api/v1/tenants/{slug}". */
function routesIn(file: string, prefix: string): string[] {
  const source = readFileSync(file, "utf8");
  return [...source.matchAll(/router\.(get|post|put|patch|delete)\(\s*"([^"]+)"/g)].map(
    ([, method, route]) => `${method!.toUpperCase()} ${prefix}${route!.replace(/:([A-Za-z_]+)/g, "{$1}")}`,
  );
}

function documentedOperations(doc: Doc): string[] {
  return Object.entries(doc.paths).flatMap(([template, item]) =>
    Object.keys(item).filter((key) => HTTP_METHODS.includes(key)).map((method) => `${method.toUpperCase()} ${template}`),
  );
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): SpecResponse => ({
  status,
  headers: { "content-type": "application/json; charset=utf-8", "x-request-id": "req-12345678", ...headers },
  body,
  text: JSON.stringify(body),
});

const problem = (status: number, code: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): SpecResponse => ({
  status,
  headers: { "content-type": "application/problem+json; charset=utf-8", "x-request-id": "req-12345678", ...headers },
  body: {
    type: `https://gatehouse.dev/problems/${code.replaceAll("_", "-")}`,
    title: "Some title",
    status,
    code,
    detail: "Some detail",
    instance: "/api/v1/tenants/acme",
    requestId: "req-12345678",
    ...extra,
  },
});

const tenant = () => ({
  id: "0190c5d4-7f3a-7b2c-9d1e-2f3a4b5c6d7e",
  slug: "acme",
  name: "Acme Ltd",
  region: "eu",
  emailDomains: ["acme.example"],
  mfaRequired: true,
  requireLocalMfaForSso: false,
  ipAllowlist: ["203.0.113.0/24", "2001:db8::/32"],
  sessionIdleMinutes: 30,
  sessionAbsoluteHours: 12,
  sso: { enabled: false, enforced: false },
  securityContactEmail: null,
  createdAt: "2025-01-31T09:30:00.000Z",
  updatedAt: "2025-01-31T09:30:00.000Z",
});

const user = () => ({
  id: "0190c5d4-7f3a-7b2c-9d1e-2f3a4b5c6d7f",
  tenantId: "0190c5d4-7f3a-7b2c-9d1e-2f3a4b5c6d7e",
  email: "ada@acme.example",
  name: "Ada",
  kind: "member",
  role: "admin",
  status: "active",
  ssoBypass: false,
  hasPassword: true,
  mfaEnrolled: false,
  passwordRotation: null,
  deactivatedAt: null,
  createdAt: "2025-01-31T09:30:00.000Z",
  updatedAt: "2025-01-31T09:30:00.000Z",
});

const apiKey = () => ({
  id: "0190c5d4-7f3a-7b2c-9d1e-2f3a4b5c6d80",
  name: "support tooling",
  prefix: "gh_AbCdEfG",
  scopes: ["tenants:read", "audit:read"],
  tenant: "acme",
  createdAt: "2025-01-31T09:30:00.000Z",
  lastUsedAt: null,
  revokedAt: null,
});

describe("openapi.yaml", () => {
  let doc: Doc;

  beforeAll(() => {
    // SwaggerParser.validate: the OpenAPI 3.1 schema, every $ref resolved.
    doc = validateOpenApiFile(OPENAPI_PATH) as unknown as Doc;
  });

  it("is a valid OpenAPI 3.1 document with a bearer scheme", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
  });

  it("is checked for real: a broken copy is refused", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "gatehouse-openapi-"));
    try {
      const broken = path.join(dir, "openapi.yaml");
      const source = readFileSync(OPENAPI_PATH, "utf8");
      writeFileSync(broken, source.replace('$ref: "#/components/schemas/TenantList"', '$ref: "#/components/schemas/NoSuchSchema"'));
      expect(() => validateOpenApiFile(broken)).toThrow(/not a valid OpenAPI document.*NoSuchSchema/s);
      writeFileSync(broken, source.replace(/^info:\n/m, "information:\n"));
      expect(() => validateOpenApiFile(broken)).toThrow(/not a valid OpenAPI document/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("documents exactly the routes the admin and ops routers implement", () => {
    const adminDir = path.join(root, "src/admin");
    const implemented = [
      ...readdirSync(adminDir)
        .filter((file) => file.endsWith(".routes.ts"))
        .flatMap((file) => routesIn(path.join(adminDir, file), "/api/v1")),
      ...routesIn(path.join(root, "src/ops/ops.routes.ts"), ""),
      ...routesIn(path.join(root, "src/sessions/session-check.routes.ts"), ""),
      // Answered ahead of Express, on Node's bare request: no router call to read.
      FORWARD_AUTH_OPERATION,
    ];
    expect(implemented.length).toBeGreaterThan(10);
    expect(documentedOperations(doc).sort()).toEqual([...new Set(implemented)].sort());
  });

  it("lists every scope, audit event type and error code the code knows", () => {
    const { schemas } = doc.components;
    expect(schemas.ApiScope!.enum).toEqual([...API_SCOPES]);
    expect(schemas.AuditEventType!.enum).toEqual([...AUDIT_EVENT_TYPES]);
    expect([...schemas.ErrorCode!.enum!].sort()).toEqual(Object.keys(ERROR_CATALOGUE).sort());
  });

  it("puts every /api/v1 operation behind the API key, with 401 and 403 as problem+json", () => {
    // The one exception: the browser's own session, authenticated by its cookie.
    const cookieRoutes = ["/api/v1/session"];
    expect(doc.paths["/api/v1/session"]?.get?.security).toEqual([{ sessionCookie: [] }]);
    for (const [template, item] of Object.entries(doc.paths).filter(([template]) => template.startsWith("/api/v1/") && !cookieRoutes.includes(template))) {
      for (const [method, operation] of Object.entries(item).filter(([key]) => HTTP_METHODS.includes(key))) {
        const where = `${method.toUpperCase()} ${template}`;
        expect([where, operation.security]).toEqual([where, undefined]); // inherits the global bearerAuth
        for (const status of ["401", "403"]) {
          expect([where, status, Object.keys(operation.responses[status]?.content ?? {})]).toEqual([where, status, ["application/problem+json"]]);
        }
        for (const [status, response] of Object.entries(operation.responses).filter(([status]) => status.startsWith("4"))) {
          expect([where, status, Object.keys(response.content ?? {})]).toEqual([where, status, ["application/problem+json"]]);
        }
      }
    }
  });
});

describe("expectMatchesSpec", () => {
  beforeAll(() => {
    loadOpenApiSpec();
  });

  it("accepts a created tenant", () => {
    expectMatchesSpec(json(201, tenant()), "POST", "/api/v1/tenants");
  });

  it("rejects a tenant without its slug, naming the field", () => {
    const { slug: _slug, ...withoutSlug } = tenant();
    expect(() => expectMatchesSpec(json(201, withoutSlug), "POST", "/api/v1/tenants")).toThrow(
      /POST \/api\/v1\/tenants -> 201[\s\S]*must have required property 'slug'/,
    );
  });

  it("rejects wrong types, bad formats and unexpected properties", () => {
    const wrong = { ...tenant(), mfaRequired: "yes", createdAt: "yesterday", sso: { enabled: true }, internalNote: "x" };
    let message = "";
    try {
      expectMatchesSpec(json(200, wrong), "GET", "/api/v1/tenants/{slug}");
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain("body/mfaRequired must be boolean");
    expect(message).toContain("body/createdAt must match format");
    expect(message).toContain("body/sso must have required property 'enforced'");
    expect(message).toContain("internalNote");
  });

  it("rejects a status the operation does not document", () => {
    expect(() => expectMatchesSpec(json(204, undefined), "GET", "/api/v1/tenants/{slug}")).toThrow(
      /status 204 is not documented \(documented: 200, 400, 401, 403, 404\)/,
    );
    expect(() => expectMatchesSpec(problem(409, "conflict"), "GET", "/api/v1/tenants/acme")).toThrow(/status 409 is not documented/);
  });

  it("finds the operation from a concrete request path", () => {
    expectMatchesSpec(problem(404, "not_found"), "GET", "/api/v1/tenants/acme/users/0190c5d4-7f3a-7b2c-9d1e-2f3a4b5c6d7f");
    expectMatchesSpec(json(200, { items: [user()], nextCursor: "MDE5MA" }), "GET", "/api/v1/tenants/acme/users?limit=1");
    expect(() => expectMatchesSpec(json(200, {}), "GET", "/api/v1/nowhere")).toThrow(/No path of openapi.yaml matches \/api\/v1\/nowhere/);
    expect(() => expectMatchesSpec(json(200, {}), "PUT", "/api/v1/tenants/acme")).toThrow(/does not document PUT \/api\/v1\/tenants\/\{slug\}/);
  });

  it("checks nullable fields: null passes, missing or wrong does not", () => {
    expectMatchesSpec(json(200, { ...user(), status: "deactivated", deactivatedAt: "2025-02-01T00:00:00.000Z" }), "PATCH", "/api/v1/tenants/acme/users/x");
    const { deactivatedAt: _gone, ...missing } = user();
    expect(() => expectMatchesSpec(json(200, missing), "GET", "/api/v1/tenants/{slug}/users/{id}")).toThrow(/'deactivatedAt'/);
    expect(() => expectMatchesSpec(json(200, { ...user(), deactivatedAt: 0 }), "GET", "/api/v1/tenants/{slug}/users/{id}")).toThrow(
      /body\/deactivatedAt must be string,null/,
    );
  });

  it("accepts an API key's secret only in the creation response", () => {
    const created = { ...apiKey(), key: `gh_${"A".repeat(43)}` };
    expectMatchesSpec(json(201, created), "POST", "/api/v1/api-keys");
    expect(() => expectMatchesSpec(json(200, created), "GET", "/api/v1/api-keys/{id}")).toThrow(/must NOT have unevaluated properties.*"key"/);
    expect(() => expectMatchesSpec(json(200, { items: [{ ...apiKey(), keyHash: "ab" }], nextCursor: null }), "GET", "/api/v1/api-keys")).toThrow(
      /keyHash/,
    );
    const { key: _key, ...withoutKey } = created;
    expect(() => expectMatchesSpec(json(201, withoutKey), "POST", "/api/v1/api-keys")).toThrow(/'key'/);
  });

  it("checks problem documents: media type, code for the status, field errors, headers", () => {
    const www = { "www-authenticate": 'Bearer realm="gatehouse"' };
    expectMatchesSpec(problem(401, "invalid_api_key", {}, www), "GET", "/api/v1/tenants");
    expectMatchesSpec(problem(400, "validation_failed", { errors: [{ path: "slug", message: "Required" }] }), "POST", "/api/v1/tenants");

    expect(() => expectMatchesSpec(problem(401, "invalid_api_key"), "GET", "/api/v1/tenants")).toThrow(/header WWW-Authenticate is required but missing/);
    expect(() => expectMatchesSpec(problem(401, "not_found", {}, www), "GET", "/api/v1/tenants")).toThrow(/body\/code must be equal to one of the allowed values/);
    expect(() => expectMatchesSpec(problem(400, "validation_failed"), "POST", "/api/v1/tenants")).toThrow(/'errors'/);

    const asPlainJson = { ...problem(404, "not_found"), headers: { "content-type": "application/json", "x-request-id": "req-12345678" } };
    expect(() => expectMatchesSpec(asPlainJson, "GET", "/api/v1/tenants/acme")).toThrow(
      /content type application\/json is not documented \(documented: application\/problem\+json\)/,
    );
  });

  it("covers the ops endpoints", () => {
    expectMatchesSpec({ status: 200, headers: { "content-type": "application/json", "cache-control": "no-store" }, body: { status: "ok" } }, "GET", "/healthz");
    const notReady = { status: "unavailable", checks: { database: "ok", redis: "unavailable" } };
    expectMatchesSpec({ status: 503, headers: { "content-type": "application/json", "cache-control": "no-store" }, body: notReady }, "GET", "/readyz");
    expect(() =>
      expectMatchesSpec({ status: 200, headers: { "content-type": "application/json", "cache-control": "no-store" }, body: notReady }, "GET", "/readyz"),
    ).toThrow(/body\/status must be equal to constant/);
    const metrics = "# HELP up 1\nup 1\n";
    expectMatchesSpec({ status: 200, headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" }, text: metrics, body: {} }, "GET", "/metrics");
  });
});
