#!/usr/bin/env node
// Copy the front-end files the templates use from node_modules/ into static/vendor/.
// Runs as npm's postinstall (and from scripts/dev.py when static/vendor/ is missing).
// static/vendor/ is generated and git-ignored; templates refer to e.g.
// {% static 'vendor/bootstrap/bootstrap.min.css' %}.
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..");
const modules = path.join(root, "node_modules");
const vendor = path.join(root, "static", "vendor");

// [source under node_modules/, destination under static/vendor/]
const FILES = [
  ["bootstrap/dist/css/bootstrap.min.css", "bootstrap/bootstrap.min.css"],
  ["bootstrap/dist/css/bootstrap.min.css.map", "bootstrap/bootstrap.min.css.map"],
  ["bootstrap/dist/js/bootstrap.bundle.min.js", "bootstrap/bootstrap.bundle.min.js"],
  ["bootstrap/dist/js/bootstrap.bundle.min.js.map", "bootstrap/bootstrap.bundle.min.js.map"],
  ["bootstrap-icons/font/bootstrap-icons.min.css", "bootstrap-icons/bootstrap-icons.min.css"],
  ["bootstrap-icons/font/fonts/bootstrap-icons.woff2", "bootstrap-icons/fonts/bootstrap-icons.woff2"],
  ["bootstrap-icons/font/fonts/bootstrap-icons.woff", "bootstrap-icons/fonts/bootstrap-icons.woff"],
  ["htmx.org/dist/htmx.min.js", "htmx/htmx.min.js"],
  ["echarts/dist/echarts.min.js", "echarts/echarts.min.js"],
];

function main() {
  const missing = FILES.filter(([src]) => !fs.existsSync(path.join(modules, src)));
  if (missing.length) {
    console.error("error: missing in node_modules/: " + missing.map(([s]) => s).join(", "));
    console.error("       run 'npm ci' (or 'make setup') first.");
    process.exit(1);
  }
  fs.rmSync(vendor, { recursive: true, force: true });
  for (const [src, dest] of FILES) {
    const target = path.join(vendor, dest);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(path.join(modules, src), target);
  }
  // The stamp tells scripts/dev.py that static/vendor/ matches package-lock.json.
  const lock = path.join(root, "package-lock.json");
  const digest = fs.existsSync(lock)
    ? crypto.createHash("sha256").update(fs.readFileSync(lock)).digest("hex")
    : "no-lock";
  fs.writeFileSync(path.join(vendor, ".stamp"), digest + "\n");
  const versions = ["bootstrap", "bootstrap-icons", "htmx.org", "echarts"].map((name) => {
    const pkg = JSON.parse(fs.readFileSync(path.join(modules, name, "package.json"), "utf8"));
    return `${name} ${pkg.version}`;
  });
  console.log(`==> copied ${FILES.length} front-end files to static/vendor/ (${versions.join(", ")})`);
}

main();
