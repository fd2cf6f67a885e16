import type { z } from "zod";
import { AppError, type FieldError } from "../errors";

/** Parses untrusted input with a zod schema; failure is a 400 naming each field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, where: "body" | "query" | "params" = "body"): z.infer<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const errors: FieldError[] = result.error.issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.join(".") : where,
    message: issue.message,
  }));
  const detail = errors.map((e) => `${e.path}: ${e.message}`).join("; ");
  throw new AppError("validation_failed", detail, { errors });
}

/** A named path parameter as one string (Express 5 types allow arrays for wildcards). */
export function pathParam(params: Record<string, string | string[] | undefined>, name: string): string {
  const value = params[name];
  if (typeof value !== "string") throw new AppError("not_found", `Missing path parameter ${name}`);
  return value;
}
