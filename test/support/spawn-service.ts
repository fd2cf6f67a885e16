import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";

export type SpawnedService = { child: ChildProcess; url: string; logs: string[]; stop(signal?: NodeJS.Signals): Promise<number | null> };

const ROOT = path.resolve(__dirname, "../..");

/** Runs src/main.ts as its own process (as `npm start` would) and waits for its "listening" log line. */
export async function spawnService(env: Record<string, string>, timeoutMs = 60_000): Promise<SpawnedService> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: string[] = [];
  createInterface({ input: child.stderr! }).on("line", (line) => logs.push(line));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start within ${timeoutMs} ms:\n${logs.join("\n")}`)), timeoutMs);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      logs.push(line);
      const entry = safeJson(line);
      if (entry?.msg === "gatehouse listening" && typeof entry.url === "string") {
        clearTimeout(timer);
        resolve(entry.url);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`service exited with ${code} before listening:\n${logs.join("\n")}`));
    });
  });
  return {
    child, url, logs,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

export async function runToExit(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], { cwd: ROOT, env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk) => (stderr += String(chunk)));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { code, stderr };
}

function safeJson(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
