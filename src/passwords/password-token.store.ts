import { randomToken, sha256Hex } from "../platform/crypto";
import type { Db, DbTx } from "../platform/db/prisma";

export type TokenPurpose = "reset" | "invite";

export function createPasswordTokenStore() {
  return {
    /**
     * A new 256-bit token; only its SHA-256 is stored. Issuing one ends every earlier unused token
     * of the same purpose for that user, so an older link in a mailbox stops working.
     */
    async issue(tx: DbTx, userId: string, purpose: TokenPurpose, now: Date, ttlMs: number): Promise<string> {
      await tx.passwordToken.updateMany({ where: { userId, purpose, usedAt: null }, data: { usedAt: now } });
      const token = randomToken();
      await tx.passwordToken.create({ data: { userId, purpose, tokenHash: sha256Hex(token), expiresAt: new Date(now.getTime() + ttlMs) } });
      return token;
    },

    /** The live token row for a link, without using it up (the form is shown first). */
    findUsable: (db: Db | DbTx, token: string, now: Date) =>
      db.passwordToken.findFirst({ where: { tokenHash: sha256Hex(token), usedAt: null, expiresAt: { gt: now } } }),

    /** Uses the token in one conditional UPDATE: of two concurrent submissions, exactly one wins. */
    async consume(tx: DbTx, tokenId: string, now: Date): Promise<boolean> {
      const result = await tx.passwordToken.updateMany({ where: { id: tokenId, usedAt: null, expiresAt: { gt: now } }, data: { usedAt: now } });
      return result.count === 1;
    },
  };
}

export type PasswordTokenStore = ReturnType<typeof createPasswordTokenStore>;
