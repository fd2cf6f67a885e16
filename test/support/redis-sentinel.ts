import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { failedStart, freePorts, HOST, redisCli, RedisProcess, startRedisServer, waitUntil, type RedisAddress } from "./redis-cluster";

export interface LocalSentinelGroup {
  masterName: string;
  /** The sentinels' addresses, as REDIS_SENTINELS names them. */
  sentinels: RedisAddress[];
  /** The node that is master at start, and its replica (the one the sentinels can promote). */
  master: RedisProcess;
  replica: RedisProcess;
  /** redis-cli against a data node, with its password. */
  nodeCli(port: number, ...args: string[]): Promise<string>;
  /** The master each sentinel names now (host:port, or an empty string when it cannot answer). */
  namedMasters(): Promise<string[]>;
  /** How many client connections subscribed to a channel each sentinel holds (clients watching for a failover). */
  subscribers(): Promise<number[]>;
  /** Asks one sentinel for a failover although the master is fine (as for maintenance); the old master stays up. */
  forceFailover(): Promise<void>;
  stop(): Promise<void>;
}

export type SentinelGroupOptions = {
  masterName: string;
  password: string;
  sentinelPassword: string;
  /** Sentinels that must agree the master is down; 2 of 3 by default. */
  quorum?: number;
  downAfterMs?: number;
  failoverTimeoutMs?: number;
};

/**
 * A master, one replica and three sentinels able to fail over between them, all with passwords, on free
 * ports of 127.0.0.1. Resolves once the replica is in sync and every sentinel knows the replica and the
 * two other sentinels, so that a failover can start as soon as the master goes down. Each sentinel
 * rewrites its own config file, in a temporary directory removed by stop(). Call stop() in afterAll;
 * children left running when the test process exits are killed.
 */
export async function startSentinelGroup(options: SentinelGroupOptions): Promise<LocalSentinelGroup> {
  const { masterName, password, sentinelPassword } = options;
  const dir = await mkdtemp(path.join(os.tmpdir(), "gh-redis-failover-"));
  const processes: RedisProcess[] = [];
  const nodeCli = (port: number, ...args: string[]): Promise<string> => redisCli(port, "-a", password, ...args);
  const sentinelCli = (port: number, ...args: string[]): Promise<string> => redisCli(port, "-a", sentinelPassword, ...args);
  try {
    const [masterPort, replicaPort, ...sentinelPorts] = (await freePorts(5)) as [number, number, number, number, number];
    // Diskless sync without its default 5 s delay: the replica is in sync about at once.
    const common = ["--requirepass", password, "--masterauth", password, "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"];
    const master = startRedisServer(masterPort, dir, common);
    processes.push(master);
    await waitUntil(`master :${masterPort}`, async () => (await nodeCli(masterPort, "ping")) === "PONG");
    const replica = startRedisServer(replicaPort, dir, [...common, "--replicaof", HOST, String(masterPort)]);
    processes.push(replica);
    await waitUntil(`replica :${replicaPort} in sync`, async () => /master_link_status:up/.test(await nodeCli(replicaPort, "info", "replication")));

    for (const port of sentinelPorts) {
      const config = path.join(dir, `sentinel-${port}.conf`);
      await writeFile(config, [
        `sentinel monitor ${masterName} ${HOST} ${masterPort} ${options.quorum ?? 2}`,
        `sentinel down-after-milliseconds ${masterName} ${options.downAfterMs ?? 1_000}`,
        `sentinel failover-timeout ${masterName} ${options.failoverTimeoutMs ?? 5_000}`,
        `sentinel auth-pass ${masterName} ${password}`,
        // Sentinels talk to each other (votes, hello messages) with the password clients use too.
        `sentinel sentinel-pass ${sentinelPassword}`,
        `requirepass ${sentinelPassword}`,
        "",
      ].join("\n"));
      processes.push(new RedisProcess(port, spawn(
        "redis-server",
        [config, "--sentinel", "--port", String(port), "--bind", HOST, "--dir", dir, "--daemonize", "no"],
        { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
      )));
    }
    for (const port of sentinelPorts) {
      // "OK 3 usable Sentinels": this one sees the two others (hello messages come every 2 s).
      await waitUntil(`sentinel :${port} seeing the others`, async () => /^OK 3 usable/.test(await sentinelCli(port, "sentinel", "ckquorum", masterName)));
      await waitUntil(`sentinel :${port} knowing the replica`, async () => {
        const fields = (await sentinelCli(port, "sentinel", "replicas", masterName)).split("\n").map((line) => line.trim());
        return fields[fields.indexOf("port") + 1] === String(replicaPort) && fields[fields.indexOf("flags") + 1] === "slave";
      });
    }

    const namedMaster = async (port: number): Promise<string> => {
      const reply = await sentinelCli(port, "sentinel", "get-master-addr-by-name", masterName).catch(() => "");
      return reply.split("\n").map((line) => line.trim()).filter(Boolean).join(":");
    };
    return {
      masterName,
      sentinels: sentinelPorts.map((port) => ({ host: HOST, port })),
      master,
      replica,
      nodeCli,
      namedMasters: () => Promise.all(sentinelPorts.map(namedMaster)),
      subscribers: () => Promise.all(sentinelPorts.map(async (port) =>
        (await sentinelCli(port, "client", "list")).split("\n").filter((line) => /\bsub=[1-9]/.test(line)).length)),
      async forceFailover() {
        const reply = await sentinelCli(sentinelPorts[0], "sentinel", "failover", masterName);
        if (reply !== "OK") throw new Error(`SENTINEL FAILOVER answered ${reply}`);
      },
      async stop() {
        await Promise.all(processes.map((p) => p.stop()));
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    return failedStart(processes, dir, error);
  }
}
