#!/usr/bin/env python3
"""Oracle for the registry's XML shape: validates fixtures/registry/seed.xml and every
<model> of a freshly seeded database's export (rendered by the same code as the
documents of collection `registry`) against fixtures/registry/registry.xsd with lxml's
XML Schema validator.

    python3 benches/peers/validate_registry.py [--sprig target/release/sprig]

The Rust tests check the schema against the importer with sprig's own XPath; this
script checks the documents against the schema with an independent validator."""
import argparse, json, os, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peerenv import ensure_packages

ensure_packages(["lxml"], ["lxml"])
from lxml import etree  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sprig", default=os.path.join(ROOT, "target", "release", "sprig"))
    args = ap.parse_args()
    schema = etree.XMLSchema(etree.parse(os.path.join(ROOT, "fixtures", "registry", "registry.xsd")))
    failures = 0
    seed = etree.parse(os.path.join(ROOT, "fixtures", "registry", "seed.xml"))
    if not schema.validate(seed):
        failures += 1
        print("seed.xml:", schema.error_log)
    # The collection's documents: a fresh database seeded with the fixtures.
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "db")
        subprocess.run([args.sprig, "--db", db, "-c", "RETURN 1;"], check=True, capture_output=True)
        names = json.loads(subprocess.run(
            [args.sprig, "--db", db, "--format", "json", "xpath", "--collection", "registry", "/model/@name"],
            check=True, capture_output=True, text=True).stdout)["nodes"]
        export = subprocess.run([args.sprig, "--db", db, "registry", "export", "--format", "xml"],
                                check=True, capture_output=True).stdout
        for model in etree.fromstring(export).iter("model"):
            if not schema.validate(etree.ElementTree(model)):
                failures += 1
                print(model.get("name"), schema.error_log)
    total = 1 + len(names)
    print(f"{total - failures} passed, {failures} failed (seed.xml and {len(names)} model documents)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
