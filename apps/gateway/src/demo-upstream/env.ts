/** The demo upstream's settings from the environment; command-line flags override them. */
export interface DemoEnv {
  host?: string;
  controlPort?: number;
  /** Added to every service port, to run a second demo beside the first. */
  portOffset?: number;
}

function int(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`${name}: expected a port number`);
  return n;
}

export function readDemoEnv(env: NodeJS.ProcessEnv = process.env): DemoEnv {
  return {
    host: env.DEMO_HOST || undefined,
    controlPort: int("DEMO_CONTROL_PORT", env.DEMO_CONTROL_PORT),
    portOffset: int("DEMO_PORT_OFFSET", env.DEMO_PORT_OFFSET),
  };
}
