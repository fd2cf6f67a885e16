import type { IncomingMessage, ServerResponse } from "node:http";

/*
 * oidc-provider 9 ships no TypeScript types, and test/support declares a narrow ambient module for the test
 * OpenID Provider that would shadow any fuller declaration. So the service loads the package here, once, and
 * types only the part of its API it uses. The package is ESM; Node >= 20.19 require()s it natively.
 */

export type AdapterPayload = Record<string, unknown> & {
  grantId?: string;
  uid?: string;
  userCode?: string;
  consumed?: number;
};

/** The storage interface oidc-provider calls for every model (Session, Grant, AccessToken, ...). */
export interface OidcAdapter {
  upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void>;
  find(id: string): Promise<AdapterPayload | undefined>;
  findByUid(uid: string): Promise<AdapterPayload | undefined>;
  findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

export type ClaimSet = Record<string, unknown>;

export interface OidcAccount {
  accountId: string;
  claims(use: string, scope: string): ClaimSet | Promise<ClaimSet>;
}

/** The token a claim lookup is made for (token endpoint, userinfo); absent at the authorization endpoint. */
export type OidcTokenLike = { accountId?: string; sessionUid?: string; clientId?: string; kind?: string };

export interface OidcClient {
  clientId: string;
  clientName?: string;
  clientSecret?: string;
  backchannelLogoutUri?: string;
  metadata(): Record<string, unknown>;
  backchannelLogout(sub: string, sid: string): Promise<void>;
}

export interface OidcClientClass {
  find(id: string): Promise<OidcClient | undefined>;
  prototype: OidcClient & { compareClientSecret(actual: string): boolean | Promise<boolean>; includeSid(): boolean };
}

export interface OidcGrant {
  jti: string;
  accountId: string;
  clientId: string;
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  addResourceScope(resource: string, scope: string): void;
  save(): Promise<string>;
}

export interface OidcSession {
  uid: string;
  jti: string;
  accountId?: string;
  authorizations?: Record<string, { sid?: string; grantId?: string }>;
}

export type InteractionPrompt = { name: string; reasons: string[]; details: Record<string, unknown> };

export interface OidcInteraction {
  uid: string;
  iat: number;
  exp: number;
  prompt: InteractionPrompt;
  params: Record<string, unknown> & { client_id?: string; scope?: string; tenant?: string; login_hint?: string; max_age?: number | string };
  session?: { accountId: string; uid?: string };
  grantId?: string;
  lastSubmission?: Record<string, unknown>;
}

export type InteractionResult = {
  login?: { accountId: string; acr?: string; amr?: string[]; ts?: number; remember?: boolean };
  consent?: { grantId?: string };
  error?: string;
  error_description?: string;
  /** Ours: the Gatehouse session the login came from, read back when the provider session is bound. */
  gatehouse?: { sessionId: string };
};

/** The koa context oidc-provider hands to configuration hooks and middleware. */
export interface OidcContext {
  req: IncomingMessage;
  res: ServerResponse & { locals?: Record<string, unknown> };
  path: string;
  method: string;
  status: number;
  body: unknown;
  type: string;
  set(header: string, value: string): void;
  oidc: {
    provider: OidcProvider;
    route?: string;
    client?: OidcClient;
    session?: OidcSession;
    params?: Record<string, unknown>;
    result?: InteractionResult;
    entities: Record<string, unknown>;
    requestParamOIDCScopes: Set<string>;
    prompts: Set<string>;
  };
}

export type OidcMiddleware = (ctx: OidcContext, next: () => Promise<void>) => Promise<void>;

export interface OidcCheck {
  reason: string;
}

export interface OidcCheckClass {
  new (reason: string, description: string, error: string, check: (ctx: OidcContext) => boolean | Promise<boolean>): OidcCheck;
  new (reason: string, description: string, check: (ctx: OidcContext) => boolean | Promise<boolean>): OidcCheck;
  REQUEST_PROMPT: true;
  NO_NEED_TO_PROMPT: false;
}

export type OidcPolicy = Array<{ name: string; checks: OidcCheck[] & { add(check: OidcCheck, index?: number): void } }> & {
  get(name: string): { name: string; checks: OidcCheck[] & { add(check: OidcCheck, index?: number): void } } | undefined;
};

export type OidcErrorClass = new (description?: string, detail?: string) => Error;

export interface OidcProvider {
  readonly issuer: string;
  proxy: boolean;
  Client: OidcClientClass;
  Grant: { new (init: { accountId: string; clientId: string }): OidcGrant; find(id: string): Promise<OidcGrant | undefined> };
  Session: { findByUid(uid: string): Promise<OidcSession | undefined> };
  Interaction: { find(uid: string): Promise<Pick<OidcInteraction, "params"> | undefined> };
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  use(middleware: OidcMiddleware): void;
  on(event: string, listener: (...args: unknown[]) => void): void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<OidcInteraction>;
  interactionFinished(req: IncomingMessage, res: ServerResponse, result: InteractionResult, options?: { mergeWithLastSubmission?: boolean }): Promise<void>;
  /** As interactionFinished, but returns the URL to continue at instead of redirecting. */
  interactionResult(req: IncomingMessage, res: ServerResponse, result: InteractionResult, options?: { mergeWithLastSubmission?: boolean }): Promise<string>;
}

/** The configuration keys this service sets; see oidc-provider's documentation for each. */
export type OidcConfiguration = Record<string, unknown> & {
  adapter: (model: string) => OidcAdapter;
  findAccount: (ctx: OidcContext, sub: string, token?: OidcTokenLike) => Promise<OidcAccount | undefined>;
  jwks: { keys: Record<string, unknown>[] };
};

type OidcProviderModule = {
  default: new (issuer: string, configuration: OidcConfiguration) => OidcProvider;
  interactionPolicy: { Check: OidcCheckClass; base(): OidcPolicy };
  errors: Record<"AccessDenied" | "InvalidRequest" | "InvalidGrant" | "LoginRequired", OidcErrorClass>;
};

/**
 * Loads the package. Version 9.13 warns on Node 20 that it wants Node 22 but runs (STACK.md); that one known
 * warning is kept out of the logs of every process and test that loads the app. Any other warning passes.
 */
function loadOidcProvider(): OidcProviderModule {
  /* eslint-disable no-console -- the package writes its notices to the console itself. */
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).includes("Unsupported runtime")) warn(...args);
  };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see the comment at the top of this file.
    return require("oidc-provider") as OidcProviderModule;
  } finally {
    console.warn = warn;
  }
  /* eslint-enable no-console */
}

const oidcProvider = loadOidcProvider();

export const Provider = oidcProvider.default;
export const { interactionPolicy, errors: oidcErrors } = oidcProvider;
