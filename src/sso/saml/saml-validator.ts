import { createWorkerPool, type WorkerPool } from "../../platform/worker-pool";
import { validateResponse, type ValidationOutcome, type ValidationRequest } from "./saml-validation";

export type SamlValidator = {
  validate(request: ValidationRequest): Promise<ValidationOutcome>;
  close(): Promise<void>;
};

/**
 * Where SAML responses are validated. With threads, on a worker pool: XML parsing and signature checks
 * take several milliseconds of CPU per login, which would otherwise stall every other request on the
 * event loop, and a pool spreads them over the machine's cores. The pool starts at the first response.
 * With 0 threads, inline on the event loop.
 */
export function createSamlValidator(options: { threads: number }): SamlValidator {
  let pool: WorkerPool | undefined;
  return {
    validate(request) {
      if (options.threads === 0) return validateResponse(request);
      pool ??= createWorkerPool({ modulePath: require.resolve("./saml-validation"), size: options.threads, name: "saml-validation" });
      return pool.run<ValidationOutcome>("validateResponse", [request]);
    },
    async close() {
      await pool?.close();
    },
  };
}
