#!/usr/bin/env node
// Bundles the compiled workflow code once, at build time, into dist/workflow-bundle.js: a worker
// then starts without running webpack, which saves seconds and ~80 MB of peak memory per start.
// The failure converter (src/codec/failure-converter.cjs: messages and stack traces into encrypted
// payloads) runs inside the workflow sandbox, so it is bundled here; the worker loads the same file
// for activities.
import { writeFileSync } from 'node:fs';
import { bundleWorkflowCode } from '@temporalio/worker';

const workflowsPath = new URL('../dist/workflows/index.js', import.meta.url).pathname;
const quiet = { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} };
const failureConverterPath = new URL('../dist/src/codec/failure-converter.cjs', import.meta.url).pathname;
const { code } = await bundleWorkflowCode({ workflowsPath, failureConverterPath, logger: quiet });
writeFileSync(new URL('../dist/workflow-bundle.js', import.meta.url), code);
