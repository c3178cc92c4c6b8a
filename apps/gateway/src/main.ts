/** Composition root: read the config file, start the gateway, stop it cleanly on signals. */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { formatIssues, parseConfigText } from "@rg/core";
import { parse as parseYaml } from "yaml";
import pino from "pino";
import { readEnv } from "./env";
import { startGateway } from "./gateway";

async function main(): Promise<void> {
  const env = readEnv();
  const { values } = parseArgs({
    options: { config: { type: "string" } },
    allowPositionals: false,
  });
  const path = values.config ?? env.GATEWAY_CONFIG;
  if (!path) {
    process.stderr.write("usage: gateway --config <file.yaml> (or GATEWAY_CONFIG)\n");
    process.exit(1);
  }
  let text: string;
  try {
    text = readFileSync(resolve(path), "utf8");
  } catch (e) {
    process.stderr.write(`cannot read ${path}: ${(e as Error).message}\n`);
    process.exit(1);
  }
  const parsed = parseConfigText(text);
  if (!parsed.ok) {
    process.stderr.write(`invalid config ${path}:\n`);
    for (const line of formatIssues(parsed.issues)) process.stderr.write(`  ${line}\n`);
    process.exit(1);
  }
  const logger = pino({ level: env.LOG_LEVEL });
  const gateway = await startGateway({
    // The raw input is stored so operator overrides apply over what was written.
    config: parseYaml(text) as unknown,
    configSource: resolve(path),
    storePath: env.GATEWAY_DB,
    logger,
    ...(env.GATEWAY_INSTANCE_ID ? { instanceId: env.GATEWAY_INSTANCE_ID } : {}),
    ...(env.GATEWAY_PORT !== undefined ? { port: env.GATEWAY_PORT } : {}),
    ...(env.GATEWAY_ADMIN_PORT !== undefined ? { adminPort: env.GATEWAY_ADMIN_PORT } : {}),
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "draining");
    gateway.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((err: unknown) => {
  process.stderr.write(
    `gateway failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
