import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/*
 * CPU time that named processes spent (user + system, from /proc/<pid>/stat), for figures that do not
 * move with the machine's noise the way latencies do: a second taken away by the hypervisor, or by
 * another process, is not counted in a process's own CPU time. Linux only; undefined elsewhere.
 */
let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU ms of one process so far; undefined where /proc is not there or the process is gone. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name is in parentheses and may hold spaces: the fields start after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / clockTicks() : undefined;
  } catch {
    return undefined;
  }
}

/** CPU ms each process spent while `work` ran; a process whose time could not be read gets undefined. */
export async function cpuDuring<K extends string, T>(pids: Record<K, number>, work: () => Promise<T>): Promise<{ result: T; cpuMs: Record<K, number | undefined> }> {
  const names = Object.keys(pids) as K[];
  const before = names.map((name) => processCpuMs(pids[name]));
  const result = await work();
  const cpuMs = {} as Record<K, number | undefined>;
  names.forEach((name, i) => {
    const after = processCpuMs(pids[name]);
    const start = before[i];
    cpuMs[name] = after === undefined || start === undefined ? undefined : after - start;
  });
  return { result, cpuMs };
}
