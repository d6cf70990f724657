// Prints the SLSA provenance predicate @actions/attest builds for the job
// this process runs in: buildSLSAProvenancePredicate reads the claims of a
// token it requests from ACTIONS_ID_TOKEN_REQUEST_URL (audience "nobody",
// verified against the issuer's JWKS) and GITHUB_SERVER_URL.
//
// usage: node predicate.mjs NODE_MODULES_DIR ISSUER
// Run by provenance/attest_bed_test.go against the test bed's GitHub runtime
// stand-in; testbed/install-actions-attest.sh installs the package.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [modules, issuer] = process.argv.slice(2);
if (!modules || !issuer) {
  console.error('usage: node predicate.mjs NODE_MODULES_DIR ISSUER');
  process.exit(2);
}
const lib = pathToFileURL(path.join(modules, '@actions', 'attest', 'lib', 'index.js')).href;
const { buildSLSAProvenancePredicate } = await import(lib);
const predicate = await buildSLSAProvenancePredicate(issuer);
process.stdout.write(JSON.stringify(predicate) + '\n');
