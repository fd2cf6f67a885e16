import type { AuditContext } from "../audit/audit-event";
import type { UserKind } from "../generated/prisma/enums";
import { notFound } from "../platform/errors";
import { AppError } from "../platform/errors";
import { UUID_PATTERN } from "../platform/pagination";
import type { PasswordDeps } from "./deps";
import type { CampaignRow, RotationCampaignStore } from "./rotation-campaign.store";
import type { RotationMode } from "./rotation.service";

export type CampaignInput = { tenants: string[] | "all"; kinds?: UserKind[]; mode: RotationMode; revokeSessions: boolean; notify: boolean; reason: string };
type Deps = PasswordDeps & { campaigns: RotationCampaignStore; wakeWorker: () => void };

export function createRotationCampaignService(deps: Deps) {
  const { db } = deps;

  async function view(campaign: CampaignRow) {
    const progress = await deps.campaigns.progress(db, campaign.id);
    return {
      id: campaign.id,
      status: campaign.status,
      mode: campaign.mode,
      reason: campaign.reason,
      revokeSessions: campaign.revokeSessions,
      notify: campaign.notify,
      kinds: campaign.kinds,
      targeted: campaign.targeted,
      ...progress,
      createdAt: campaign.createdAt.toISOString(),
      finishedAt: campaign.finishedAt?.toISOString() ?? null,
    };
  }

  async function requireCampaign(id: string, scope: { tenantId?: string }): Promise<CampaignRow> {
    const campaign = UUID_PATTERN.test(id) ? await db.rotationCampaign.findUnique({ where: { id } }) : null;
    // A tenant-bound key sees only campaigns over its own tenant alone.
    if (!campaign || (scope.tenantId && (campaign.allTenants || campaign.tenantIds.length !== 1 || campaign.tenantIds[0] !== scope.tenantId))) throw notFound("Rotation campaign");
    return campaign;
  }

  return {
    /** Records the campaign and its target count; the worker does the rest, durably. */
    async startCampaign(input: CampaignInput, scope: { tenantId?: string }, context: AuditContext) {
      const tenants = input.tenants === "all" ? null : await db.tenant.findMany({ where: { slug: { in: input.tenants } }, select: { id: true, slug: true } });
      if (input.tenants === "all" && scope.tenantId) throw new AppError("forbidden", "A key bound to a tenant cannot rotate every tenant");
      if (tenants) {
        const missing = (input.tenants as string[]).filter((slug) => !tenants.some((t) => t.slug === slug) );
        const foreign = tenants.filter((t) => scope.tenantId && t.id !== scope.tenantId);
        if (missing.length > 0 || foreign.length > 0) throw notFound(`Tenant ${[...missing, ...foreign.map((t) => t.slug)].join(", ")}`);
      }
      const campaign = await db.$transaction(async (tx) => {
        const created = await tx.rotationCampaign.create({
          data: {
            allTenants: tenants === null, tenantIds: tenants?.map((t) => t.id) ?? [], kinds: input.kinds ?? [], mode: input.mode,
            revokeSessions: input.revokeSessions, notify: input.notify, reason: input.reason, actorType: context.actor.type, actorId: context.actor.id ?? null,
          },
        });
        const targeted = await deps.campaigns.countTargets(tx, created);
        const row = await tx.rotationCampaign.update({ where: { id: created.id }, data: { targeted } });
        const data = { campaignId: row.id, mode: row.mode, targeted, reason: row.reason, revokeSessions: row.revokeSessions, notify: row.notify };
        await deps.auditStore.insertMany(tx, context, (tenants ?? [{ id: null }]).map((t) => ({ type: "rotation.started" as const, tenantId: t.id, target: { type: "rotation_campaign", id: row.id }, data })));
        return row;
      });
      deps.wakeWorker();
      return { id: campaign.id, status: campaign.status };
    },

    async getCampaign(id: string, scope: { tenantId?: string }) {
      return view(await requireCampaign(id, scope));
    },

    /** Stops further processing; users already flagged stay flagged. */
    async cancelCampaign(id: string, scope: { tenantId?: string }) {
      const campaign = await requireCampaign(id, scope);
      await db.rotationCampaign.updateMany({ where: { id: campaign.id, status: "running" }, data: { status: "cancelled", finishedAt: deps.clock.now() } });
      return view(await requireCampaign(id, scope));
    },
  };
}

export type RotationCampaignService = ReturnType<typeof createRotationCampaignService>;
