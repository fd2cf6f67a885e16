import { createServer, type Server } from "node:http";
import { Server as NetServer, type AddressInfo } from "node:net";
import { createApp } from "./app";
import { withDevSecretKeys } from "./config/dev-secrets";
import type { Config } from "./config/load";
import { createContainer, type Container } from "./container";
import { systemClock, type Clock } from "./platform/clock";
import { createHttpMetrics } from "./platform/http/metrics";
import { openInfrastructure } from "./platform/infrastructure";
import type { Logger } from "./platform/logger";

// Long enough for requests already sent on accepted connections to be read, short next to any grace period.
const IDLE_CLOSE_DELAY_MS = 100;

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
    metrics: createHttpMetrics(),
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
    // Stop accepting first; connections accepted a moment ago may not have had their request read yet and
    // would count as idle: close idle ones only once pending requests have been parsed.
    const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, IDLE_CLOSE_DELAY_MS));
    server.closeIdleConnections();
    const deadline = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs);
    await closed;
    clearTimeout(deadline);
    await container.passwordReset.whenIdle();
    await Promise.all([container.rotationWorker.stop(), container.outboxSender.stop(), container.certificateAlerts.stop(), container.backchannelLogouts.stop()]);
    await container.close();
    await infra.close();
    logger.info("gatehouse stopped");
  }

  return { server, url, container, shutdown };
}
