import { existsSync } from "node:fs";
import path from "node:path";

/** Finds a project folder (views/, public/, prisma/) from src/ or dist/src/ alike. */
export function findProjectDir(name: string, start: string = __dirname): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, name);
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`${name}/ not found above ${start}`);
  }
}
