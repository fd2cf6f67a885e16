import { createPrivateKey, generateKeyPair, X509Certificate } from "node:crypto";
import { promisify } from "node:util";
import type { AuditContext, AuditEventType } from "../../audit/audit-event";
import type { AuditStore } from "../../audit/audit.store";
import type { Clock } from "../../platform/clock";
import { sha256Hex, type SecretBox } from "../../platform/crypto";
import type { Db, DbTx } from "../../platform/db/prisma";
import { AppError } from "../../platform/errors";
import type { Logger } from "../../platform/logger";
import { summariseCertificate } from "../certificates";
import { selfSignedCertificate } from "./self-signed-certificate";
import type { SigningKeyData, SigningKeyRow, SigningKeyStore } from "./signing-key.store";

/**
 * A SAML service provider key pair with its self-signed certificate, published in SP metadata. The signing
 * pair signs AuthnRequests and LogoutRequests; the encryption pair decrypts the assertions IdPs encrypt to it.
 */
export type SpSigningKey = { privateKeyPem: string; certificatePem: string };

/**
 * What a key pair is for. Two pairs, never one for both: a key that decrypts must never be one that signs
 * (an oracle on the decryption side would forge signatures), and each can be rotated without the other.
 */
export type SpKeyRole = { purpose: string; algorithm: string; commonName: string };

export const SP_SIGNING: SpKeyRole = { purpose: "saml-sp", algorithm: "RS256", commonName: "Gatehouse SAML service provider" };
// RSA-OAEP key transport (the JOSE name); the IdP chooses the content cipher from the metadata's list.
export const SP_ENCRYPTION: SpKeyRole = { purpose: "saml-sp-encryption", algorithm: "RSA-OAEP", commonName: "Gatehouse SAML service provider encryption" };

const YEAR_MS = 365 * 24 * 60 * 60 * 1000;
// IdP admins paste this certificate once; a long life spares them a rotation nobody asked for.
const CERTIFICATE_LIFETIME_MS = 10 * YEAR_MS;
// Peers whose clocks run a little behind must not see a certificate from the future.
const BACKDATE_MS = 60 * 60 * 1000;

const sealContext = (purpose: string, publicKeyPem: string) => `signing-key:${purpose}:${sha256Hex(publicKeyPem)}`;
const generateRsa = promisify(generateKeyPair);

type Deps = { db: Db; secretBox: SecretBox; clock: Clock; logger: Logger; store: SigningKeyStore; auditStore: AuditStore; refreshMs?: number };

/**
 * A key's part in a rollover. `next`: published in SP metadata so that IdPs learn it, not yet used (it does
 * decrypt: an IdP may encrypt to any certificate it was given). `active`: signs, and is the first encryption
 * certificate. `previous`: a key that was active, still published and still decrypting until it is retired.
 */
export type SpKeyStatus = "next" | "active" | "previous";
export type PublishedSpKey = SpSigningKey & { id: string; status: SpKeyStatus };
/** The keys of one role in SP metadata, the active one first, then the next, then the previous ones newest first. */
export type SpKeySet = { active: PublishedSpKey; published: PublishedSpKey[] };

/** How often each instance re-reads the keys, so that a rollover made through another instance reaches it. */
export const SP_KEY_REFRESH_MS = 30_000;

const ORDER: Record<SpKeyStatus, number> = { active: 0, next: 1, previous: 2 };

/** The active key is the one activated last; a key never activated is next; any other is previous. */
function statusesOf<R extends { id: string; activatedAt: Date | null }>(rows: R[]): Array<R & { status: SpKeyStatus }> {
  const active = rows.filter((row) => row.activatedAt).sort((a, b) => b.activatedAt!.getTime() - a.activatedAt!.getTime())[0];
  return rows.map((row) => ({ ...row, status: row.id === active?.id ? "active" : row.activatedAt ? "previous" : "next" }));
}

/**
 * The SP keys of this deployment for `role` (every tenant's metadata carries the same certificates): made on
 * first use, stored sealed in PostgreSQL so that every instance uses them, re-read every `refreshMs`, and
 * rolled over in stages through the admin API (`stage`, `activate`, `retire`).
 */
export function createSpSigningKey(deps: Deps, role: SpKeyRole = SP_SIGNING) {
  const { purpose } = role;
  const refreshMs = deps.refreshMs ?? SP_KEY_REFRESH_MS;
  let cached: { set: SpKeySet; at: number } | null = null;
  let loading: Promise<SpKeySet> | null = null;

  /**
   * The keys this instance can open. A key sealed under a secret this instance lacks (SECRET_KEYS lost a
   * key, or development secrets were regenerated) is reported and passed over rather than taking SAML login
   * down; when no active key can be opened, a new one is made.
   */
  function usable(rows: SigningKeyRow[]): SpKeySet | null {
    const opened = opening(rows).map(({ row, privateKeyPem }) => ({ id: row.id, status: row.status, privateKeyPem, certificatePem: row.certificatePem! }));
    const active = opened.find((key) => key.status === "active");
    if (!active) return null;
    // Stable sort: rows come newest first, so the next and previous keys stay in that order.
    return { active, published: opened.sort((a, b) => ORDER[a.status] - ORDER[b.status]) };
  }

  /**
   * The rows this instance can open, with their part in the rollover among those alone: a key sealed under a
   * secret this instance lacks is neither published nor used, whatever its state.
   */
  function opening(rows: SigningKeyRow[]) {
    const opened: Array<{ row: SigningKeyRow; privateKeyPem: string }> = [];
    for (const row of rows) {
      try {
        if (row.certificatePem) opened.push({ row, privateKeyPem: deps.secretBox.open(row.privateKeySealed, sealContext(purpose, row.publicKeyPem)) });
      } catch {
        deps.logger.error({ signingKeyId: row.id, purpose }, "a signing key cannot be opened with SECRET_KEYS; was a key removed from SECRET_KEYS?");
      }
    }
    const statuses = new Map(statusesOf(opened.map(({ row }) => row)).map((row) => [row.id, row.status]));
    return opened.map(({ row, privateKeyPem }) => ({ row: { ...row, status: statuses.get(row.id)! }, privateKeyPem }));
  }

  /** The published keys (those this instance can open) with their states. */
  async function published(db: Db | DbTx) {
    return opening(await deps.store.active(db, purpose)).map(({ row }) => row);
  }

  async function load(): Promise<SpKeySet> {
    const { db, store } = deps;
    const existing = usable(await store.active(db, purpose));
    if (existing) return existing;
    return store.withCreateLock(db, purpose, async (tx) => {
      const made = usable(await store.active(tx, purpose));
      if (made) return made;
      const { data } = await newKey(deps, role);
      await store.create(tx, { ...data, activatedAt: deps.clock.now() });
      return usable(await store.active(tx, purpose))!;
    });
  }

  function reload(): Promise<SpKeySet> {
    loading ??= load()
      .then((set) => {
        cached = { set, at: deps.clock.now().getTime() };
        return set;
      })
      .finally(() => {
        loading = null;
      });
    return loading;
  }

  async function keySet(): Promise<SpKeySet> {
    if (cached && deps.clock.now().getTime() - cached.at < refreshMs) return cached.set;
    if (!cached) return reload();
    // Stale: re-read, but a database that is down does not take SAML login with it; the keys read last stay.
    return reload().catch((error: unknown) => {
      deps.logger.warn({ err: error, purpose }, "SAML SP keys could not be re-read; using the ones read last");
      return cached!.set;
    });
  }

  /** Runs a change under the purpose's lock, audits it in the same transaction, and drops this instance's copy. */
  async function change(work: (tx: DbTx) => Promise<SigningKeyRow>, audit: (row: SigningKeyRow) => { type: AuditEventType; data?: Record<string, unknown> }, context: AuditContext) {
    const row = await deps.store.withCreateLock(deps.db, purpose, async (tx) => {
      const changed = await work(tx);
      const { type, data } = audit(changed);
      await deps.auditStore.insert(tx, context, { type, target: { type: "signing_key", id: changed.id }, data: { purpose, ...data } });
      return changed;
    });
    cached = null;
    return row;
  }

  async function describeOne(id: string) {
    const item = (await list()).items.find((key) => key.id === id);
    if (!item) throw new AppError("not_found", "No such SAML service provider key");
    return item;
  }

  async function list() {
    const rows = await published(deps.db);
    return { items: rows.sort((a, b) => ORDER[a.status] - ORDER[b.status]).map((row) => describeKey(row, row.status, deps.clock.now())) };
  }

  async function mustFind(tx: DbTx, id: string): Promise<SigningKeyRow> {
    const row = await deps.store.find(tx, purpose, id);
    if (!row) throw new AppError("not_found", "No such SAML service provider key");
    if (row.retiredAt) throw new AppError("conflict", "This key is retired; stage a new one instead");
    return row;
  }

  return {
    /** The active key. A failed first load (database down) is not remembered: the next request tries again. */
    async get(): Promise<SpSigningKey> {
      return (await keySet()).active;
    },
    keySet,
    list,

    /** A new key, published at once (next) but not used until it is activated. One next key at a time. */
    async stage(context: AuditContext) {
      await keySet();
      const { data } = await newKey(deps, role);
      const row = await change(async (tx) => {
        if ((await published(tx)).some((key) => key.status === "next")) {
          throw new AppError("conflict", "A next key is already published; activate or retire it first");
        }
        return deps.store.create(tx, { ...data, activatedAt: null });
      }, () => ({ type: "signing_key.staged" }), context);
      deps.logger.info({ signingKeyId: row.id, purpose }, "SAML SP key staged");
      return describeOne(row.id);
    },

    /** Makes a next (or previous: a rollback) key the active one; the key it replaces becomes previous. */
    async activate(id: string, context: AuditContext) {
      let replaced: string | undefined;
      await change(async (tx) => {
        const row = await mustFind(tx, id);
        const keys = await published(tx);
        if (!keys.some((key) => key.id === row.id)) throw new AppError("conflict", "This key cannot be opened with this deployment's SECRET_KEYS");
        const current = keys.find((key) => key.status === "active");
        replaced = current?.id;
        // The active key is the one activated last: later than the current one even within its millisecond.
        const at = Math.max(deps.clock.now().getTime(), (current?.activatedAt?.getTime() ?? 0) + 1);
        return deps.store.activate(tx, row.id, new Date(at));
      }, () => ({ type: "signing_key.activated", data: { replaced: replaced ?? null } }), context);
      deps.logger.info({ signingKeyId: id, replaced, purpose }, "SAML SP key activated");
      return describeOne(id);
    },

    /** Takes a next or previous key out of metadata and out of use for good; the active key cannot be retired. */
    async retire(id: string, context: AuditContext) {
      const row = await change(async (tx) => {
        const found = await mustFind(tx, id);
        const status = (await published(tx)).find((key) => key.id === id)?.status;
        if (status === "active") throw new AppError("conflict", "The active key cannot be retired; activate another key first");
        return deps.store.retire(tx, found.id, deps.clock.now());
      }, () => ({ type: "signing_key.retired" }), context);
      deps.logger.info({ signingKeyId: row.id, purpose }, "SAML SP key retired");
      return describeKey(row, "retired", deps.clock.now());
    },
  };
}

/** What the admin API shows of a key: never the private key. */
function describeKey(row: SigningKeyRow, status: SpKeyStatus | "retired", now: Date) {
  const certificate = row.certificatePem ? summariseCertificate(new X509Certificate(row.certificatePem), now) : null;
  return {
    id: row.id,
    status,
    algorithm: row.algorithm,
    createdAt: row.createdAt.toISOString(),
    activatedAt: row.activatedAt?.toISOString() ?? null,
    retiredAt: row.retiredAt?.toISOString() ?? null,
    certificate: certificate && { pem: row.certificatePem, fingerprint256: certificate.fingerprint256, notAfter: certificate.notAfter },
  };
}

async function newKey(deps: Pick<Deps, "secretBox" | "clock">, role: SpKeyRole): Promise<{ data: SigningKeyData; privateKeyPem: string }> {
  const { publicKey, privateKey } = await generateRsa("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  const now = deps.clock.now().getTime();
  const certificatePem = selfSignedCertificate({
    privateKey: createPrivateKey(privateKey),
    commonName: role.commonName,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + CERTIFICATE_LIFETIME_MS),
  });
  const data = { purpose: role.purpose, algorithm: role.algorithm, publicKeyPem: publicKey, certificatePem, privateKeySealed: deps.secretBox.seal(privateKey, sealContext(role.purpose, publicKey)) };
  return { data, privateKeyPem: privateKey };
}

/** Both SP key roles of the deployment: one for signing, one for decrypting. */
export function createSamlSpKeys(deps: Deps) {
  return { signing: createSpSigningKey(deps, SP_SIGNING), encryption: createSpSigningKey(deps, SP_ENCRYPTION) };
}

export type SamlSpKeys = ReturnType<typeof createSamlSpKeys>;
