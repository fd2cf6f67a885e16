import bcrypt from "bcrypt";

// What a bcrypt worker thread runs (see bcrypt-pool.ts): synchronous, since the thread has nothing else to do.
export function hash(data: string, cost: number): string {
  return bcrypt.hashSync(data, cost);
}

export function compare(data: string, hashed: string): boolean {
  return bcrypt.compareSync(data, hashed);
}
