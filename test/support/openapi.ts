import { execFileSync } from "node:child_process";
import path from "node:path";
import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";

/**
 * Contract checks against openapi.yaml.
 *
 *   const res = await api().post("/api/v1/tenants").set(auth).send(body);
 *   expectMatchesSpec(res, "POST", "/api/v1/tenants");
 *
 * The path may be the spec's template ("/api/v1/tenants/{slug}") or the concrete request path
 * ("/api/v1/tenants/acme?limit=5"); a concrete path is matched against the templates. The check
 * throws when the operation is not documented, the status is not documented for it, the content
 * type is not documented for that status, a documented header is missing or wrong, or the body
 * does not validate against the documented schema.
 */

export const OPENAPI_PATH = path.resolve(__dirname, "../../openapi.yaml");
const REPO_ROOT = path.resolve(__dirname, "../..");

/** What the check reads from a response; a supertest `Response` is one. */
export type SpecResponse = {
  status: number;
  headers: Record<string, unknown>;
  body?: unknown;
  text?: string;
};

type Schema = Record<string, unknown>;
type MediaTypeObject = { schema?: Schema };
type HeaderObject = { required?: boolean; schema?: Schema };
type ResponseObject = { headers?: Record<string, HeaderObject>; content?: Record<string, MediaTypeObject> };
type OperationObject = { responses?: Record<string, ResponseObject> };
type PathItem = Record<string, unknown>;
type Spec = { paths?: Record<string, PathItem> };

export type LoadedSpec = {
  paths: Record<string, PathItem>;
  /** Templates with their matchers, literal paths first, then by fewer parameters. */
  templates: { template: string; pattern: RegExp; params: number }[];
  ajv: Ajv2020;
  /** Compiled schemas, keyed by operation, status and media type. */
  validators: Map<string, ValidateFunction>;
};

const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

// swagger-parser 13 depends on an ESM-only package that jest (CommonJS, node_modules not
// transformed) cannot load, while Node itself can. So the spec is validated and dereferenced by
// SwaggerParser.validate in a short-lived Node process, which also keeps this helper synchronous.
const VALIDATE_SCRIPT = `
const SwaggerParser = require(require.resolve("@apidevtools/swagger-parser", { paths: [process.argv[2]] }));
SwaggerParser.validate(process.argv[1]).then(
  (api) => process.stdout.write(JSON.stringify(api)),
  (error) => { process.stderr.write(String(error && error.message || error)); process.exit(1); },
);`;

/**
 * Runs SwaggerParser.validate on an OpenAPI file: checks it against the OpenAPI schema, resolves
 * every $ref, and returns the dereferenced document. Throws swagger-parser's message if invalid.
 */
export function validateOpenApiFile(file: string = OPENAPI_PATH): Record<string, unknown> {
  try {
    const out = execFileSync(process.execPath, ["-e", VALIDATE_SCRIPT, file, REPO_ROOT], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 64 * 1024 * 1024,
    });
    return JSON.parse(out) as Record<string, unknown>;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr;
    throw new Error(`${path.relative(REPO_ROOT, file)} is not a valid OpenAPI document: ${stderr?.trim() || String(error)}`);
  }
}

let loaded: LoadedSpec | undefined;

/** Validates and dereferences openapi.yaml once per test file (jest module registry). */
export function loadOpenApiSpec(): LoadedSpec {
  if (loaded) return loaded;
  const spec = validateOpenApiFile(OPENAPI_PATH) as Spec;
  const paths = spec.paths ?? {};
  const templates = Object.keys(paths)
    .map((template) => ({ template, pattern: templatePattern(template), params: (template.match(/\{[^}]+\}/g) ?? []).length }))
    .sort((a, b) => a.params - b.params);
  const ajv = new Ajv2020({
    allErrors: true,
    strictSchema: true, // unknown keywords in openapi.yaml are errors, so typos do not silently pass
    strictNumbers: true,
    strictTuples: true,
    strictTypes: false, // allOf/if branches legitimately omit `type`
    strictRequired: false, // `if/then` requires a property defined next to it
    allowUnionTypes: true, // `type: [string, "null"]`
  });
  addFormats(ajv);
  // OpenAPI's own annotation keywords.
  ajv.addVocabulary(["example", "xml", "externalDocs", "discriminator"]);
  loaded = { paths, templates, ajv, validators: new Map() };
  return loaded;
}

function templatePattern(template: string): RegExp {
  const source = template
    .split(/(\{[^}]+\})/)
    .map((part) => (/^\{[^}]+\}$/.test(part) ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`);
}

/** Throws a readable error unless `res` is a documented response of `method pathOrTemplate`. */
export function expectMatchesSpec(res: SpecResponse, method: string, pathOrTemplate: string): void {
  const spec = loadOpenApiSpec();
  const verb = method.toLowerCase();
  const template = resolveTemplate(spec, pathOrTemplate);
  const where = `${method.toUpperCase()} ${template}`;
  const operation = HTTP_METHODS.includes(verb) ? (spec.paths[template]?.[verb] as OperationObject | undefined) : undefined;
  if (!operation) {
    const documented = Object.keys(spec.paths[template] ?? {}).filter((key) => HTTP_METHODS.includes(key));
    throw new Error(`openapi.yaml does not document ${where} (documented methods: ${documented.join(", ").toUpperCase() || "none"})`);
  }

  const responses = operation.responses ?? {};
  const statusKey = [String(res.status), `${String(res.status).charAt(0)}XX`, "default"].find((key) => key in responses);
  if (!statusKey) {
    throw mismatch(where, res, [`status ${res.status} is not documented (documented: ${Object.keys(responses).join(", ")})`]);
  }
  const documented = responses[statusKey]!;
  const at = `${where} ${statusKey}`;
  const problems = [...checkHeaders(spec, at, documented, res), ...checkContent(spec, at, documented, res)];
  if (problems.length > 0) throw mismatch(`${where} -> ${res.status}`, res, problems);
}

function resolveTemplate(spec: LoadedSpec, pathOrTemplate: string): string {
  const requestPath = pathOrTemplate.split(/[?#]/, 1)[0]!;
  if (requestPath in spec.paths) return requestPath;
  const match = spec.templates.find(({ pattern }) => pattern.test(requestPath));
  if (!match) throw new Error(`No path of openapi.yaml matches ${requestPath}`);
  return match.template;
}

function headerValue(res: SpecResponse, name: string): string | undefined {
  const wanted = name.toLowerCase();
  const entry = Object.entries(res.headers ?? {}).find(([key]) => key.toLowerCase() === wanted);
  if (!entry || entry[1] === undefined) return undefined;
  return Array.isArray(entry[1]) ? entry[1].join(", ") : String(entry[1]);
}

function checkHeaders(spec: LoadedSpec, at: string, documented: ResponseObject, res: SpecResponse): string[] {
  const problems: string[] = [];
  for (const [name, header] of Object.entries(documented.headers ?? {})) {
    // OpenAPI: a Content-Type header definition is ignored; the content map says it.
    if (name.toLowerCase() === "content-type") continue;
    const value = headerValue(res, name);
    if (value === undefined) {
      if (header.required) problems.push(`header ${name} is required but missing`);
      continue;
    }
    if (header.schema) problems.push(...validate(spec, `${at} header ${name}`, header.schema, value, `header ${name}`));
  }
  return problems;
}

function checkContent(spec: LoadedSpec, at: string, documented: ResponseObject, res: SpecResponse): string[] {
  const content = documented.content ?? {};
  const contentType = headerValue(res, "content-type");
  const mediaType = contentType?.split(";", 1)[0]!.trim().toLowerCase();
  const hasBody = typeof res.text === "string" ? res.text.length > 0 : res.body !== undefined && res.body !== null && res.body !== "";

  if (Object.keys(content).length === 0) {
    return hasBody ? [`the response has a body (${contentType ?? "no content type"}) but none is documented`] : [];
  }
  if (!mediaType) return [`the response has no Content-Type (documented: ${Object.keys(content).join(", ")})`];
  const key = Object.keys(content).find((candidate) => mediaTypeMatches(candidate, mediaType));
  if (!key) return [`content type ${mediaType} is not documented (documented: ${Object.keys(content).join(", ")})`];

  const schema = content[key]!.schema;
  if (!schema) return [];
  let body: unknown;
  if (isJsonMediaType(mediaType)) {
    if (typeof res.text === "string" && res.text.length > 0) {
      try {
        body = JSON.parse(res.text);
      } catch {
        return [`the body is not valid JSON: ${excerpt(res.text)}`];
      }
    } else {
      body = res.body;
    }
  } else {
    body = typeof res.text === "string" ? res.text : res.body;
  }
  return validate(spec, `${at} ${key}`, schema, body, "body");
}

function mediaTypeMatches(documented: string, actual: string): boolean {
  const wanted = documented.split(";", 1)[0]!.trim().toLowerCase();
  if (wanted === actual || wanted === "*/*") return true;
  return wanted.endsWith("/*") && actual.startsWith(wanted.slice(0, -1));
}

function isJsonMediaType(mediaType: string): boolean {
  return mediaType === "application/json" || mediaType.endsWith("+json");
}

function validate(spec: LoadedSpec, cacheKey: string, schema: Schema, value: unknown, label: string): string[] {
  let validator = spec.validators.get(cacheKey);
  if (!validator) {
    validator = spec.ajv.compile(schema);
    spec.validators.set(cacheKey, validator);
  }
  if (validator(value)) return [];
  return (validator.errors ?? []).map((error) => `${label}${error.instancePath} ${describeError(error)}`);
}

function describeError(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  const detail =
    params.additionalProperty ?? params.unevaluatedProperty ?? params.missingProperty ?? params.allowedValues ?? params.allowedValue ?? params.format;
  const message = error.message ?? error.keyword;
  return detail === undefined || message.includes(JSON.stringify(detail)) || message.includes(`'${String(detail)}'`)
    ? message
    : `${message}: ${JSON.stringify(detail)}`;
}

function excerpt(value: unknown, max = 1500): string {
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  if (text === undefined) return String(value);
  return text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
}

function mismatch(where: string, res: SpecResponse, problems: string[]): Error {
  const body = typeof res.text === "string" && res.text.length > 0 ? res.text : res.body;
  const lines = [`Response does not match openapi.yaml for ${where}:`, ...problems.map((problem) => `  - ${problem}`), `Body: ${excerpt(body)}`];
  return new Error(lines.join("\n"));
}
