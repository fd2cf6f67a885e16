import { Router, type Response } from "express";
import { z } from "zod";
import type { RotationCampaignService } from "../passwords/rotation-campaign.service";
import type { RotationService } from "../passwords/rotation.service";
import { contextOf } from "../platform/http/request-context";
import { parseInput, pathParam } from "../platform/http/validate";
import type { TenantService } from "../tenants/tenant.service";
import type { UserService } from "../users/user.service";
import { callerOf, requireScope } from "./api-key.middleware";

const mode = z.enum(["reset_required", "change_at_next_login"]);
const userRotationSchema = z.strictObject({ mode, revokeSessions: z.boolean().default(true), notify: z.boolean().default(true) });
const campaignSchema = z.strictObject({
  tenants: z.union([z.literal("all"), z.array(z.string().trim().toLowerCase().min(1).max(63)).min(1).max(10_000)]),
  kinds: z.array(z.enum(["member", "contractor", "client"])).min(1).optional(),
  mode,
  revokeSessions: z.boolean(),
  notify: z.boolean(),
  reason: z.string().trim().min(1).max(500),
});

type Deps = { tenants: TenantService; users: UserService; rotation: RotationService; rotationCampaigns: RotationCampaignService };

/** Forced password rotation: one user, or a campaign over tenants. */
export function rotationsRouter(deps: Deps): Router {
  const router = Router();
  const scope = (res: Response) => ({ tenantId: callerOf(res).tenantId });

  router.post("/tenants/:slug/users/:id/password-reset", requireScope("users:write"), async (req, res) => {
    const tenant = await deps.tenants.requireTenant(pathParam(req.params, "slug"), scope(res));
    const user = await deps.users.requireUser(tenant, pathParam(req.params, "id"));
    const options = parseInput(userRotationSchema, req.body);
    res.json(await deps.rotation.requireRotation(tenant, user, options, contextOf(res)));
  });

  router.post("/password-rotations", requireScope("rotations:write"), async (req, res) => {
    const input = parseInput(campaignSchema, req.body);
    res.status(202).json(await deps.rotationCampaigns.startCampaign(input, scope(res), contextOf(res)));
  });

  router.get("/password-rotations/:id", requireScope("rotations:write"), async (req, res) => {
    res.json(await deps.rotationCampaigns.getCampaign(pathParam(req.params, "id"), scope(res)));
  });

  router.post("/password-rotations/:id/cancel", requireScope("rotations:write"), async (req, res) => {
    res.json(await deps.rotationCampaigns.cancelCampaign(pathParam(req.params, "id"), scope(res)));
  });

  return router;
}
