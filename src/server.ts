import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createApp } from "./app";
import { withDevSecretKeys } from "./config/dev-secrets";
import type { Config } from "./config/load";
import { createContainer, type Container } from "./container";
import { systemClock, type Clock } from "./platform/clock";
import { gracefulClose } from "./platform/http/graceful-close";
import { createHttpMetrics } from "./platform/http/metrics";
import { openInfrastructure } from "./platform/infrastructure";
import type { Logger } from "./platform/logger";

export type RunningGatehouse = { server: Server; url: string; container: Container; shutdown(): Promise<void> };

/** Opens the infrastructure, wires the app and listens; `shutdown` drains in-flight requests first. */
export async function startGatehouse(baseConfig: Config, logger: Logger, clock: Clock = systemClock): Promise<RunningGatehouse> {
  const config = withDevSecretKeys(baseConfig);
  const infra = await openInfrastructure(config, logger, clock);
  const container = createContainer(infra);
  if (config.bootstrapAdminToken) await container.apiKeys.ensureBootstrapKey(config.bootstrapAdminToken);

  let shuttingDown = false;
  const app = createApp({
    config,
    logger,
    metrics: createHttpMetrics({ sessionReadCache: () => infra.kv.readCacheStats?.() }),
    isShuttingDown: () => shuttingDown,
    readiness: [
      { name: "database", check: async () => void (await infra.db.$queryRaw`SELECT 1`) },
      { name: "kv", check: () => infra.kv.ping() },
    ],
    container,
  });

  // Background work every instance shares through PostgreSQL: mail delivery, rotation campaigns and
  // back-channel logouts due again.
  container.outboxSender.start();
  container.backchannelLogouts.start();
  container.rotationWorker.start();
  container.certificateAlerts.start();

  const server = createServer(app);
  const connections = gracefulClose(server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`;
  logger.info({ url, publicUrl: config.publicUrl, regions: config.regions }, "gatehouse listening");

  async function shutdown(): Promise<void> {
    if (shuttingDown) return;
    shuttingDown = true;
    // Stop accepting, finish what is in flight, close connections as they fall idle (graceful-close.ts);
    // whatever is still open when the grace period ends is cut.
    const deadline = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs);
    await connections.drain();
    clearTimeout(deadline);
    await container.passwordReset.whenIdle();
    await Promise.all([container.rotationWorker.stop(), container.outboxSender.stop(), container.certificateAlerts.stop(), container.backchannelLogouts.stop()]);
    await container.close();
    await infra.close();
    logger.info("gatehouse stopped");
  }

  return { server, url, container, shutdown };
}
