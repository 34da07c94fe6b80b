// Validates rcgate's OpenAPI document with @apidevtools/swagger-parser (the OpenAPI 3.0 JSON
// schema plus its semantic checks: unique operationIds, path parameters declared, $refs that
// resolve), then checks a few things rcgate promises on top: every operation has a security
// decision and an error answer in the envelope. Usage: node validate.mjs path/to/openapi.json
import SwaggerParser from "@apidevtools/swagger-parser";
import { readFileSync } from "node:fs";

const file = process.argv[2];
if (!file) {
  console.error("usage: node validate.mjs path/to/openapi.json");
  process.exit(2);
}
const text = readFileSync(file, "utf8");
let doc;
try {
  doc = JSON.parse(text);
} catch (e) {
  console.error(`${file}: not valid JSON: ${e.message}`);
  process.exit(1);
}
if (doc.openapi !== "3.0.3") {
  console.error(`${file}: expected "openapi": "3.0.3", found ${JSON.stringify(doc.openapi)}`);
  process.exit(1);
}
try {
  // validate() mutates what it gets: give it a copy.
  await SwaggerParser.validate(structuredClone(doc));
} catch (e) {
  console.error(`${file}: invalid OpenAPI document: ${e.message}`);
  process.exit(1);
}

const problems = [];
const schemes = Object.keys(doc.components?.securitySchemes ?? {});
for (const want of ["bearerKey", "headerKey"]) {
  if (!schemes.includes(want)) problems.push(`components.securitySchemes.${want} is missing`);
}
let operations = 0;
for (const [path, item] of Object.entries(doc.paths)) {
  for (const [method, op] of Object.entries(item)) {
    if (!["get", "post", "put", "delete", "patch"].includes(method)) continue;
    operations++;
    const where = `${method.toUpperCase()} ${path}`;
    if (!op.operationId) problems.push(`${where}: no operationId`);
    if (!op.responses?.["200"]) problems.push(`${where}: no 200 response`);
    const open = Array.isArray(op.security) && op.security.length === 0;
    if (!open && !op.responses?.["401"]) problems.push(`${where}: needs the key but documents no 401`);
  }
}
if (problems.length) {
  console.error(`${file}:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`${file}: valid OpenAPI ${doc.openapi}, ${Object.keys(doc.paths).length} paths, ${operations} operations`);
