/** The services behind config/example.yaml, on the ports its upstream endpoints name. */
export const DEMO_SERVICES: Record<string, { ports: number[]; cacheable?: boolean }> = {
  payments: { ports: [4101, 4102] },
  inventory: { ports: [4201], cacheable: true },
  search: { ports: [4301] },
  catalog: { ports: [4401], cacheable: true },
  "catalog-backup": { ports: [4402], cacheable: true },
};

export const DEMO_CONTROL_PORT = 4100;
