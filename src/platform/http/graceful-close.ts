import type { Server } from "node:http";
import { Server as NetServer, type Socket } from "node:net";

type ConnectionState = { acceptedAt: number; served: number; active: number };

export type GracefulClose = {
  /**
   * Stops listening, answers what is still in flight without keep-alive, and closes each connection as it
   * falls idle. Resolves when every connection is closed; the caller bounds it with its grace period
   * (`closeAllConnections`).
   */
  drain(): Promise<void>;
};

/** How often connections are looked over while draining: those that have aged past the first-request window. */
const SWEEP_MS = 50;

/**
 * Graceful close for a node:http server. A connection with no request in progress is "idle" to Node, also
 * one accepted a moment ago whose first request is still in the socket buffer, unread: closing it resets a
 * request the client has already sent (a rolling deploy under load then fails requests it was meant to
 * finish). So an idle connection is closed at once only if it has served a request (keep-alive waiting
 * for the next); one that has served none gets `firstRequestWindowMs` from its acceptance to send one.
 * Requests that arrive while draining are answered with `Connection: close`.
 */
export function gracefulClose(server: Server, options: { firstRequestWindowMs?: number } = {}): GracefulClose {
  const firstRequestWindowMs = options.firstRequestWindowMs ?? 1_000;
  const connections = new Map<Socket, ConnectionState>();
  let draining = false;

  const closeIfIdle = (socket: Socket, state: ConnectionState): void => {
    if (state.active > 0 || socket.writableEnded) return;
    // end(), not destroy(): what was written goes out first, and nothing unread makes the kernel send a reset.
    if (state.served > 0 || Date.now() - state.acceptedAt >= firstRequestWindowMs) socket.end();
  };

  server.on("connection", (socket: Socket) => {
    connections.set(socket, { acceptedAt: Date.now(), served: 0, active: 0 });
    socket.once("close", () => connections.delete(socket));
  });
  // Ahead of the app's listener, so that `Connection: close` is set before anything is written.
  server.prependListener("request", (req, res) => {
    const state = connections.get(req.socket);
    if (!state) return;
    state.active += 1;
    if (draining) res.shouldKeepAlive = false;
    res.once("close", () => {
      state.active -= 1;
      state.served += 1;
      if (draining) closeIfIdle(req.socket, state);
    });
  });

  return {
    async drain() {
      draining = true;
      // net.Server's close, not http.Server's: the latter closes every idle connection at once (Node 19+).
      const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve()));
      const sweep = () => {
        for (const [socket, state] of connections) closeIfIdle(socket, state);
      };
      sweep();
      const timer = setInterval(sweep, SWEEP_MS);
      try {
        await closed;
      } finally {
        clearInterval(timer);
      }
    },
  };
}
