import type { Db, DbTx } from "../platform/db/prisma";

/** The OpenID provider's rows of `signing_keys` (the SAML service provider's are "saml-sp"). */
export const OIDC_KEY_PURPOSE = "oidc-provider";
// The same advisory lock class as the SAML key store ("key" in ASCII), keyed by purpose: creations of one purpose queue.
const CREATE_LOCK_CLASS = 0x6b6579;

export type ProviderKeyData = { algorithm: string; publicKeyPem: string; privateKeySealed: string; createdAt: Date };

export function createProviderKeyStore() {
  return {
    /** Keys not retired, or retired after `retiredAfter`: the ones that may still be published. Newest first. */
    publishable: (db: Db | DbTx, retiredAfter: Date) =>
      db.signingKey.findMany({
        where: { purpose: OIDC_KEY_PURPOSE, OR: [{ retiredAt: null }, { retiredAt: { gt: retiredAfter } }] },
        orderBy: { createdAt: "desc" },
        take: 20,
      }),
    /** Runs `work` holding the purpose's creation lock: concurrent first starts and rotations queue here. */
    withLock: <T>(db: Db, work: (tx: DbTx) => Promise<T>): Promise<T> =>
      db.$transaction(async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(${CREATE_LOCK_CLASS}::int, hashtext(${OIDC_KEY_PURPOSE}))`;
        return work(tx);
      }),
    /** Marks every key in use as retired at `at`; returns their ids. */
    async retireActive(tx: DbTx, at: Date): Promise<string[]> {
      const active = await tx.signingKey.findMany({ where: { purpose: OIDC_KEY_PURPOSE, retiredAt: null }, select: { id: true } });
      await tx.signingKey.updateMany({ where: { id: { in: active.map((row) => row.id) } }, data: { retiredAt: at } });
      return active.map((row) => row.id);
    },
    create: (tx: DbTx, data: ProviderKeyData) => tx.signingKey.create({ data: { ...data, purpose: OIDC_KEY_PURPOSE, certificatePem: null } }),
  };
}

export type ProviderKeyStore = ReturnType<typeof createProviderKeyStore>;
export type ProviderKeyRow = Awaited<ReturnType<ProviderKeyStore["create"]>>;
