import { Router } from "express";
import { z } from "zod";
import { contextOf } from "../platform/http/request-context";
import { parseInput, pathParam } from "../platform/http/validate";
import type { ApiKeyService } from "./api-key.service";
import { callerOf, requireScope } from "./api-key.middleware";
import { pageQuery } from "./query";
import { API_SCOPES } from "./scopes";

const createKeySchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  scopes: z.array(z.enum(API_SCOPES)).min(1),
  tenant: z.string().trim().toLowerCase().min(1).max(63).optional(),
});

export function apiKeysRouter(deps: { apiKeys: ApiKeyService }): Router {
  const router = Router();

  router.post("/api-keys", requireScope("api_keys:write"), async (req, res) => {
    const input = parseInput(createKeySchema, req.body);
    res.status(201).json(await deps.apiKeys.createKey(input, callerOf(res), contextOf(res)));
  });

  router.get("/api-keys", requireScope("api_keys:write"), async (req, res) => {
    res.json(await deps.apiKeys.listKeys(parseInput(pageQuery, req.query, "query"), callerOf(res)));
  });

  router.get("/api-keys/:id", requireScope("api_keys:write"), async (req, res) => {
    res.json(await deps.apiKeys.getKey(pathParam(req.params, "id"), callerOf(res)));
  });

  router.delete("/api-keys/:id", requireScope("api_keys:write"), async (req, res) => {
    res.json(await deps.apiKeys.revokeKey(pathParam(req.params, "id"), callerOf(res), contextOf(res)));
  });

  return router;
}
