/** Request bodies checked once at the boundary (zod); a bad one is `web.bad_request` naming the field. */
import { TriadkitError } from "@triadkit/protocol";
import type { z } from "zod";

export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join(".") || "(body)";
  throw new TriadkitError("web.bad_request", `${field}: ${issue?.message ?? "invalid"}`, { field });
}
