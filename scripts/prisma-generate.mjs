// Runs `prisma generate` offline. The CLI wants a native schema engine it would download;
// generation never uses it, so any existing file satisfies the check (see STACK.md).
import { spawnSync } from "node:child_process";

const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: "1" };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
const result = spawnSync("prisma", ["generate"], { stdio: ["ignore", "ignore", "inherit"], env, shell: false });
if (result.error) throw result.error;
process.exit(result.status ?? 1);
