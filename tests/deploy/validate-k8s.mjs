// Validates every YAML document under deploy/k8s offline, against the Kubernetes schemas that the
// npm package kubernetes-models carries (pinned in package.json/package-lock.json):
//   1. schema: new <Kind>(doc).validate() of the class matching apiVersion/kind (types, required
//      fields, enums, formats such as quantities); an unknown apiVersion/kind is an error.
//   2. strict fields: every key must be a field of its type, like `kubectl apply --validate=strict`
//      (the schemas themselves accept unknown keys, so a misspelt `readinesProbe` would pass 1):
//      the field lists are read from the package's TypeScript declarations.
//   3. consistency: the Service, PodDisruptionBudget and HPA point at the Deployment; probes name a
//      declared port; the grace period covers preStop + the daemon's drain timeout; the FPGA is
//      requested and limited alike.
//   4. negative checks: deliberately broken manifests written here must fail 1 and 2, so the checks
//      can fail.
// Usage: node tests/deploy/validate-k8s.mjs [DIR]   (after npm ci --prefix tests/deploy)
// Last line: "validate-k8s: N passed, M failed"; exit code 1 on any failure.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import yaml from "js-yaml";

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.resolve(process.argv[2] ?? path.join(here, "..", "..", "deploy", "k8s"));
const require = createRequire(import.meta.url);
const modelsRoot = path.dirname(require.resolve("kubernetes-models/package.json"));

let passed = 0;
let failed = 0;
const ok = (what) => { passed++; console.log(`ok   ${what}`); };
const bad = (what) => { failed++; console.log(`FAIL ${what}`); };

// ---- 1. the model class of a document -------------------------------------------------------------
function modelPath(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string" || !/^[A-Za-z0-9]+$/.test(kind)) return null;
  const base = path.join(modelsRoot, ...apiVersion.split("/"), kind);  // "v1" -> v1/, "apps/v1" -> apps/v1/
  return fs.existsSync(`${base}.mjs`) ? base : null;
}

async function schemaErrors(doc) {
  const base = modelPath(doc.apiVersion, doc.kind);
  if (!base) return [`no Kubernetes schema for apiVersion ${doc.apiVersion} kind ${doc.kind}`];
  const mod = await import(`kubernetes-models/${doc.apiVersion}/${doc.kind}`);
  const Model = mod[doc.kind];
  try {
    new Model(doc).validate();
    return [];
  } catch (e) {
    return [e.message];
  }
}

// ---- 2. strict fields, from the .d.ts declarations ------------------------------------------------
const parsed = new Map();  // d.ts file -> { imports: Map(name -> spec), interfaces: Map(name -> Map(field -> type)) }
function parseDts(file) {
  if (parsed.has(file)) return parsed.get(file);
  const text = fs.readFileSync(file, "utf8");
  const imports = new Map();
  for (const m of text.matchAll(/^import \{([^}]*)\} from "([^"]+)";/gm)) {
    for (const part of m[1].split(",")) {
      const names = part.trim().split(/\s+as\s+/);
      if (names[0]) imports.set(names[names.length - 1], m[2]);
    }
  }
  const interfaces = new Map();
  for (const m of text.matchAll(/^export interface (\w+)( extends ([\w, ]+))? \{\n([\s\S]*?)^\}/gm)) {
    const fields = new Map();
    if (m[3] && m[3].includes("TypeMeta")) { fields.set("apiVersion", "string"); fields.set("kind", "string"); }
    for (const f of m[4].matchAll(/^ {4}"([^"]+)"\??: ([^;\n]+)/gm)) fields.set(f[1], f[2].trim());
    interfaces.set(m[1], fields);
  }
  // `export { IDeployment as IIoK8sApiAppsV1Deployment, ... }`: aliases of local interfaces.
  for (const m of text.matchAll(/^export \{([^}]*)\};/gm)) {
    for (const part of m[1].split(",")) {
      const [from, to] = part.trim().split(/\s+as\s+/);
      if (to && interfaces.has(from)) interfaces.set(to, interfaces.get(from));
    }
  }
  const result = { imports, interfaces };
  parsed.set(file, result);
  return result;
}

function resolveSpec(spec, fromFile) {
  if (spec.startsWith(".")) return path.resolve(path.dirname(fromFile), `${spec}.d.ts`);
  const parts = spec.split("/");
  const pkg = spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
  const rest = parts.slice(spec.startsWith("@") ? 2 : 1);
  const pkgDir = path.dirname(require.resolve(`${pkg}/package.json`, { paths: [path.dirname(fromFile)] }));
  return path.join(pkgDir, ...rest) + ".d.ts";
}

// The declaration (file, interface) of a referenced type name, or null for scalars, maps, aliases.
function lookup(typeName, fromFile) {
  const local = parseDts(fromFile);
  if (local.interfaces.has(typeName)) return { file: fromFile, name: typeName };
  const spec = local.imports.get(typeName);
  if (!spec) return null;
  const file = resolveSpec(spec, fromFile);
  if (!fs.existsSync(file)) return null;
  const target = parseDts(file);
  return target.interfaces.has(typeName) ? { file, name: typeName } : null;
}

function strictErrors(value, decl, where) {
  if (value === null || typeof value !== "object" || Array.isArray(value) || !decl) return [];
  const fields = parseDts(decl.file).interfaces.get(decl.name);
  const errors = [];
  for (const [key, child] of Object.entries(value)) {
    if (!fields.has(key)) {
      errors.push(`${where}.${key}: unknown field (${decl.name.replace(/^IIoK8s/, "")} has ${[...fields.keys()].join(", ")})`);
      continue;
    }
    const type = fields.get(key);
    const arr = /^Array<(\w+)>$/.exec(type);
    if (arr) {
      const inner = lookup(arr[1], decl.file);
      if (Array.isArray(child)) child.forEach((item, i) => errors.push(...strictErrors(item, inner, `${where}.${key}[${i}]`)));
    } else if (/^\w+$/.test(type)) {
      errors.push(...strictErrors(child, lookup(type, decl.file), `${where}.${key}`));
    }  // inline object types are string maps (labels, resources...): any key
  }
  return errors;
}

function fieldErrors(doc) {
  const base = modelPath(doc.apiVersion, doc.kind);
  if (!base) return [];
  return strictErrors(doc, { file: `${base}.d.ts`, name: `I${doc.kind}` }, doc.kind);
}

async function allErrors(doc) {
  return [...(await schemaErrors(doc)), ...fieldErrors(doc)];
}

// ---- the manifests ----------------------------------------------------------------------------------
function yamlFiles(d) {
  return fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(d, e.name);
    if (e.isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(e.name) ? [p] : [];
  }).sort();
}

const docs = [];
if (!fs.existsSync(dir)) {
  bad(`${dir} does not exist`);
} else {
  const files = yamlFiles(dir);
  if (files.length === 0) bad(`no YAML files under ${dir}`);
  for (const file of files) {
    const rel = path.relative(path.join(here, "..", ".."), file);
    let loaded;
    try {
      loaded = yaml.loadAll(fs.readFileSync(file, "utf8"));
    } catch (e) {
      bad(`${rel}: not YAML: ${e.message.split("\n")[0]}`);
      continue;
    }
    for (const doc of loaded) {
      if (doc === null || doc === undefined) continue;
      const name = `${rel}: ${doc.kind}/${doc.metadata?.name}`;
      const errors = await allErrors(doc);
      if (errors.length === 0) ok(`${name} is a valid ${doc.apiVersion} ${doc.kind}`);
      else bad(`${name}:\n       ${errors.join("\n       ")}`);
      docs.push(doc);
    }
  }
}

// ---- 3. consistency ---------------------------------------------------------------------------------
const byKind = (kind) => docs.filter((d) => d.kind === kind);
const matches = (selector, labels) => Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
const check = (cond, what) => (cond ? ok(what) : bad(what));

const deployments = byKind("Deployment");
check(deployments.length === 1, "exactly one Deployment");
for (const dep of deployments) {
  const podLabels = dep.spec?.template?.metadata?.labels;
  const pod = dep.spec?.template?.spec ?? {};
  check(matches(dep.spec?.selector?.matchLabels, podLabels), "Deployment selector matches its pod labels");
  for (const svc of byKind("Service")) {
    check(Object.keys(svc.spec?.selector ?? {}).length > 0 && matches(svc.spec.selector, podLabels),
      `Service ${svc.metadata.name} selects the Deployment's pods`);
  }
  for (const pdb of byKind("PodDisruptionBudget")) {
    check(matches(pdb.spec?.selector?.matchLabels, podLabels), `PodDisruptionBudget ${pdb.metadata.name} selects the Deployment's pods`);
  }
  for (const hpa of byKind("HorizontalPodAutoscaler")) {
    const t = hpa.spec?.scaleTargetRef ?? {};
    check(t.kind === "Deployment" && t.name === dep.metadata.name && t.apiVersion === "apps/v1",
      `HorizontalPodAutoscaler ${hpa.metadata.name} scales the Deployment`);
    check((hpa.spec?.metrics ?? []).some((m) => m.type === "Pods" && m.pods?.metric?.name === "fpgaserve_num_requests_waiting"),
      "the HPA scales on the fpgaserve_num_requests_waiting Pods metric");
  }
  for (const c of pod.containers ?? []) {
    const ports = new Set((c.ports ?? []).flatMap((p) => [p.name, p.containerPort]));
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      const get = c[probe]?.httpGet;
      check(get && get.path === "/health" && ports.has(get.port), `${c.name}: ${probe} on /health of a declared port`);
    }
    const env = Object.fromEntries((c.env ?? []).filter((e) => "value" in e).map((e) => [e.name, e.value]));
    const drain = Number(env.FPGASERVE_DRAIN_TIMEOUT_S ?? 30);
    const sleep = (c.lifecycle?.preStop?.exec?.command ?? []).join(" ").match(/^sleep (\d+)$/);
    const preStop = sleep ? Number(sleep[1]) : 0;
    check(sleep !== null, `${c.name}: preStop sleeps before SIGTERM`);
    const grace = pod.terminationGracePeriodSeconds ?? 30;
    check(grace >= preStop + drain + 10,
      `terminationGracePeriodSeconds ${grace} >= preStop ${preStop} + drain ${drain} + 10`);
    const fpga = (r) => Object.entries(r ?? {}).filter(([k]) => /^(amd\.com\/xilinx_|xilinx\.com\/fpga-)/.test(k));
    const req = fpga(c.resources?.requests);
    const lim = fpga(c.resources?.limits);
    check(req.length === 1 && JSON.stringify(req) === JSON.stringify(lim),
      `${c.name}: requests and limits the same FPGA resource (${req.map(([k, v]) => `${k}: ${v}`).join(", ")})`);
  }
}

// ---- 4. negative checks: the checks above can fail ---------------------------------------------
const good = {
  apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "broken" },
  spec: {
    selector: { matchLabels: { app: "x" } },
    template: { metadata: { labels: { app: "x" } }, spec: { containers: [{ name: "x", image: "x" }] } },
  },
};
check((await allErrors(good)).length === 0, "negative checks: their unbroken base manifest passes");
const broken = [
  ["replicas is a string", (d) => { d.spec.replicas = "two"; }],
  ["a container without a name", (d) => { delete d.spec.template.spec.containers[0].name; }],
  ["a quantity that is no quantity", (d) => { d.spec.template.spec.containers[0].resources = { limits: { cpu: "lots" } }; }],
  ["a misspelt probe field", (d) => { d.spec.template.spec.containers[0].readinesProbe = { httpGet: { path: "/health", port: 8080 } }; }],
  ["an unknown field deep in a probe", (d) => { d.spec.template.spec.containers[0].livenessProbe = { httpGet: { path: "/health", port: 8080, paht: "/" } }; }],
  ["an unknown kind", (d) => { d.kind = "Deploymnet"; }],
];
for (const [what, breakIt] of broken) {
  const doc = structuredClone(good);
  breakIt(doc);
  const errors = await allErrors(doc);
  check(errors.length > 0, `negative check: ${what} is rejected${errors.length ? ` (${errors[0].slice(0, 90)})` : ""}`);
}
const brokenYaml = "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports:\n    - port: http\n";
check((await allErrors(yaml.load(brokenYaml))).length > 0, "negative check: a Service port given as a name is rejected");

console.log(`validate-k8s: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
