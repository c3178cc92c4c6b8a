// Writes docs/config-reference.md from the config schema.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderConfigReference } from "../src/config/reference";

const out = join(import.meta.dirname, "../../../docs/config-reference.md");
writeFileSync(out, renderConfigReference());
console.log(`wrote ${out}`);
