import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Config, SecretKey } from "./load";

/**
 * Development only: the encryption keys are generated once into the data directory and reused,
 * so data encrypted at rest survives restarts. Production refuses to start without SECRET_KEYS.
 */
export function withDevSecretKeys(config: Config): Config & { secretKeys: readonly SecretKey[] } {
  if (config.secretKeys) return config as Config & { secretKeys: readonly SecretKey[] };
  if (config.env === "production") throw new Error("SECRET_KEYS: required in production");
  const file = path.join(config.dataDir, "secret-keys");
  let line: string;
  try {
    line = readFileSync(file, "utf8").trim();
  } catch {
    line = `dev1:${randomBytes(32).toString("base64")}`;
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(file, `${line}\n`, { mode: 0o600, flag: "wx" });
  }
  const [id, material] = line.split(":", 2);
  const key = Buffer.from(material ?? "", "base64");
  if (!id || key.length !== 32) throw new Error(`${file}: not a valid <keyId>:<base64 key> line`);
  return Object.freeze({ ...config, secretKeys: Object.freeze([{ id, key }]) });
}
