import { createPrivateKey, generateKeyPair } from "node:crypto";
import { promisify } from "node:util";
import type { Clock } from "../../platform/clock";
import { sha256Hex, type SecretBox } from "../../platform/crypto";
import type { Db } from "../../platform/db/prisma";
import type { Logger } from "../../platform/logger";
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

type Deps = { db: Db; secretBox: SecretBox; clock: Clock; logger: Logger; store: SigningKeyStore };

/**
 * The one SP key of this deployment for `role` (every tenant's metadata carries the same certificate), made
 * on first use and stored sealed in PostgreSQL so that every instance uses it. Read once per process.
 */
export function createSpSigningKey(deps: Deps, role: SpKeyRole = SP_SIGNING) {
  const { purpose } = role;
  let loading: Promise<SpSigningKey> | null = null;

  /**
   * The newest key this instance can open. A key sealed under a secret this instance lacks (SECRET_KEYS
   * lost a key, or development secrets were regenerated) is reported and passed over rather than taking
   * SAML login down; when no key can be opened, a new one is made.
   */
  function firstUsable(rows: SigningKeyRow[]): SpSigningKey | null {
    for (const row of rows) {
      try {
        if (row.certificatePem) return { privateKeyPem: deps.secretBox.open(row.privateKeySealed, sealContext(purpose, row.publicKeyPem)), certificatePem: row.certificatePem };
      } catch {
        deps.logger.error({ signingKeyId: row.id, purpose }, "a signing key cannot be opened with SECRET_KEYS; was a key removed from SECRET_KEYS?");
      }
    }
    return null;
  }

  async function load(): Promise<SpSigningKey> {
    const { db, store } = deps;
    const existing = firstUsable(await store.active(db, purpose));
    if (existing) return existing;
    return store.withCreateLock(db, purpose, async (tx) => {
      const made = firstUsable(await store.active(tx, purpose));
      if (made) return made;
      const { data, privateKeyPem } = await newKey(deps, role);
      await store.create(tx, data);
      return { privateKeyPem, certificatePem: data.certificatePem! };
    });
  }

  return {
    get(): Promise<SpSigningKey> {
      // A failed load (database down) is not remembered: the next request tries again.
      loading ??= load().catch((error: unknown) => {
        loading = null;
        throw error;
      });
      return loading;
    },
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

export type SpSigningKeys = ReturnType<typeof createSpSigningKey>;
