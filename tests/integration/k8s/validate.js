// Reads multi-document YAML on stdin and validates each manifest against the Kubernetes schema
// of its apiVersion/kind (kubernetes-models, which uses ajv). Prints one line per document;
// exits 1 on the first invalid one.
const YAML = require("yaml");

const kinds = {
  "v1/ConfigMap": () => require("kubernetes-models/v1/ConfigMap").ConfigMap,
  "v1/Service": () => require("kubernetes-models/v1/Service").Service,
  "apps/v1/Deployment": () => require("kubernetes-models/apps/v1/Deployment").Deployment,
};

let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  const docs = YAML.parseAllDocuments(input).map((d) => d.toJSON()).filter((d) => d);
  if (docs.length === 0) {
    console.error("no manifests on stdin");
    process.exit(1);
  }
  for (const doc of docs) {
    const key = `${doc.apiVersion}/${doc.kind}`;
    const make = kinds[key];
    if (!make) {
      console.error(`unexpected kind ${key}`);
      process.exit(1);
    }
    const Model = make();
    try {
      new Model(doc).validate();
    } catch (e) {
      console.error(`${key} ${doc.metadata && doc.metadata.name}: ${e.message}`);
      process.exit(1);
    }
    console.log(`valid ${key} ${doc.metadata.name}`);
  }
});
