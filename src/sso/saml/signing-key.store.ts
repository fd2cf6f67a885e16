import type { Db, DbTx } from "../../platform/db/prisma";

export type SigningKeyData = { purpose: string; algorithm: string; publicKeyPem: string; certificatePem: string | null; privateKeySealed: string; activatedAt?: Date | null };

// First key of the two-key advisory lock under which a purpose's keys are created and change state ("key" in ASCII).
const CREATE_LOCK_CLASS = 0x6b6579;

/** Rows of `signing_keys`: the keys this service signs with, by purpose. */
export function createSigningKeyStore() {
  return {
    /** The purpose's keys not retired (published), newest first. */
    active: (db: Db | DbTx, purpose: string) =>
      db.signingKey.findMany({ where: { purpose, retiredAt: null }, orderBy: { createdAt: "desc" }, take: 10 }),
    /** One key of the purpose, retired or not. */
    find: (db: Db | DbTx, purpose: string, id: string) => db.signingKey.findFirst({ where: { id, purpose } }),
    /**
     * Runs `work` in a transaction that holds the purpose's creation lock: instances starting together
     * queue there, and the second finds the key the first made; rotations of one purpose take turns.
     */
    withCreateLock: <T>(db: Db, purpose: string, work: (tx: DbTx) => Promise<T>): Promise<T> =>
      db.$transaction(async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(${CREATE_LOCK_CLASS}::int, hashtext(${purpose}))`;
        return work(tx);
      }),
    create: (tx: DbTx, data: SigningKeyData) => tx.signingKey.create({ data }),
    activate: (tx: DbTx, id: string, at: Date) => tx.signingKey.update({ where: { id }, data: { activatedAt: at } }),
    retire: (tx: DbTx, id: string, at: Date) => tx.signingKey.update({ where: { id }, data: { retiredAt: at } }),
  };
}

export type SigningKeyStore = ReturnType<typeof createSigningKeyStore>;
export type SigningKeyRow = Awaited<ReturnType<SigningKeyStore["create"]>>;
