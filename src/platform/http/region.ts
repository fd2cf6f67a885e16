import type { Request } from "express";
import { AppError } from "../errors";

/** The `:region` path segment, which must be one of REGIONS; anything else is a 404. */
export function regionOf(req: Request, regions: readonly string[]): string {
  const value = req.params.region;
  if (typeof value !== "string" || !regions.includes(value)) throw new AppError("not_found", "No such region");
  return value;
}
