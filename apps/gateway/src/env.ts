/** The only reader of process.env in the gateway. */
import { z } from "zod";

const port = z.coerce.number().int().min(0).max(65535);

const envSchema = z.object({
  GATEWAY_CONFIG: z.string().min(1).optional(),
  GATEWAY_DB: z.string().min(1).default("./data/gateway.db"),
  GATEWAY_INSTANCE_ID: z.string().min(1).optional(),
  GATEWAY_PORT: port.optional(),
  GATEWAY_ADMIN_PORT: port.optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type GatewayEnv = z.output<typeof envSchema>;

export function readEnv(source: NodeJS.ProcessEnv = process.env): GatewayEnv {
  const r = envSchema.safeParse(source);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new Error(`invalid environment:\n  ${lines.join("\n  ")}`);
  }
  return r.data;
}
