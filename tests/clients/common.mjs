// Shared by the Node.js clients: read the JSON request on stdin, print one line per case.
import { readFileSync } from "node:fs";

export function run(build) {
  const request = JSON.parse(readFileSync(0, "utf8"));
  for (const c of request.cases) {
    let line;
    try {
      line = build(request, c);
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
      line = `unsupported: ${e.message}`;
    }
    process.stdout.write(`${line}\n`);
  }
}

export class Unsupported extends Error {}
