import type { Db, DbTx } from "../platform/db/prisma";

export function createRecoveryCodeStore() {
  return {
    /** Enrolment replaces every earlier code. */
    async replaceAll(tx: DbTx, userId: string, codeHashes: string[]): Promise<void> {
      await tx.recoveryCode.deleteMany({ where: { userId } });
      await tx.recoveryCode.createMany({ data: codeHashes.map((codeHash) => ({ userId, codeHash })) });
    },
    /** Marks a code used in one conditional UPDATE: of two concurrent uses, exactly one succeeds. */
    async consume(db: Db | DbTx, userId: string, candidateHashes: string[], at: Date): Promise<boolean> {
      const result = await db.recoveryCode.updateMany({ where: { userId, codeHash: { in: candidateHashes }, usedAt: null }, data: { usedAt: at } });
      return result.count === 1;
    },
    deleteAll: (tx: DbTx, userId: string) => tx.recoveryCode.deleteMany({ where: { userId } }),
    countUnused: (db: Db | DbTx, userId: string) => db.recoveryCode.count({ where: { userId, usedAt: null } }),
  };
}

export type RecoveryCodeStore = ReturnType<typeof createRecoveryCodeStore>;
