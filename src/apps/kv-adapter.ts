import type { KvStore, KvWrite } from "../platform/kv/kv-store";
import type { AdapterPayload, OidcAdapter } from "./oidc-provider-api";

const DAY_MS = 24 * 60 * 60 * 1000;
// Nothing the provider stores lives longer than a Gatehouse session can (30 days), plus a margin.
const MAX_TTL_MS = 31 * DAY_MS;
// Tokens the provider revokes together when their grant ends (logout, reuse of a refresh token).
const GRANTABLE = new Set(["AccessToken", "AuthorizationCode", "RefreshToken", "DeviceCode", "BackchannelAuthenticationRequest", "PreAuthorizedCode"]);

export const oidcKeys = {
  model: (model: string, id: string) => `oidc:${model}:${id}`,
  uid: (model: string, uid: string) => `oidc:${model}:uid:${uid}`,
  userCode: (model: string, userCode: string) => `oidc:${model}:user-code:${userCode}`,
  /** The keys of every token issued under one grant. */
  grant: (grantId: string) => `oidc:grant:${grantId}`,
};

/**
 * oidc-provider's storage on the KvStore, so one class serves Redis in production and the in-process store
 * in embedded mode. A save writes its keys in one batch; every other call touches one key at a time. Payloads are JSON.
 */
export class KvOidcAdapter implements OidcAdapter {
  constructor(
    private readonly kv: KvStore,
    private readonly model: string,
    /** Seconds added to each TTL, so a token the provider still accepts within its clock tolerance is found. */
    private readonly clockToleranceSeconds = 15,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const ttlMs = this.ttlMs(expiresIn);
    const key = oidcKeys.model(this.model, id);
    const writes: KvWrite[] = [{ op: "set", key, value: JSON.stringify(payload), ttlMs }];
    if (GRANTABLE.has(this.model) && typeof payload.grantId === "string") {
      const grantKey = oidcKeys.grant(payload.grantId);
      // A fixed, maximal TTL only ever moves the set's expiry later: no token outlives its index entry.
      writes.push({ op: "setAdd", key: grantKey, members: [key] }, { op: "expire", key: grantKey, ttlMs: MAX_TTL_MS });
    }
    if (typeof payload.uid === "string") writes.push({ op: "set", key: oidcKeys.uid(this.model, payload.uid), value: id, ttlMs });
    if (typeof payload.userCode === "string") writes.push({ op: "set", key: oidcKeys.userCode(this.model, payload.userCode), value: id, ttlMs });
    // One round trip: a token request saves at least one token, and its latency is the app's login time.
    await this.kv.writeMany(writes);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return parse(await this.kv.get(oidcKeys.model(this.model, id)));
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const id = await this.kv.get(oidcKeys.uid(this.model, uid));
    return id === null ? undefined : this.find(id);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    const id = await this.kv.get(oidcKeys.userCode(this.model, userCode));
    return id === null ? undefined : this.find(id);
  }

  /** Marks a code or refresh token used, in place: it keeps its remaining lifetime so reuse can still be detected. */
  async consume(id: string): Promise<void> {
    await this.kv.setJsonField(oidcKeys.model(this.model, id), "consumed", Math.floor(Date.now() / 1000));
  }

  async destroy(id: string): Promise<void> {
    await this.kv.del(oidcKeys.model(this.model, id));
  }

  /** Ends every token of a grant, whatever its model: the grant index is shared across models. */
  async revokeByGrantId(grantId: string): Promise<void> {
    const grantKey = oidcKeys.grant(grantId);
    const members = await this.kv.setMembers(grantKey);
    for (const key of members) await this.kv.del(key);
    await this.kv.del(grantKey);
  }

  private ttlMs(expiresIn: number | undefined): number {
    if (typeof expiresIn !== "number" || !Number.isFinite(expiresIn) || expiresIn <= 0) return MAX_TTL_MS;
    return Math.min(Math.ceil((expiresIn + this.clockToleranceSeconds) * 1000), MAX_TTL_MS);
  }
}

// A value that does not parse is treated as absent: the provider then refuses the token.
function parse(raw: string | null): AdapterPayload | undefined {
  if (raw === null) return undefined;
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as AdapterPayload) : undefined;
  } catch {
    return undefined;
  }
}
