#!/usr/bin/env node
// `npx cdktf ...` in this project runs this file (package.json "bin"), then the pinned cdktf CLI as
// a child (in this process it would not find its own version). The CLI parses cdktf.json before it starts the app, and a syntax error there
// used to be a Node stack trace; it is one line here, with line and column, as `python main.py`
// says it. A missing cdktf.json, or valid JSON with odd content, is left to the CLI. Keep this
// file's path: npx records the project's bin by it (in ~/.npm/_npx) and keeps that record.
"use strict";

const { spawn } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

/** Whether parsing ``prefix`` failed only because it ends early. */
function endsEarly(error, length) {
  const at = /at position (\d+)/.exec(error.message);
  return /Unexpected end of JSON input/.test(error.message) || (at !== null && Number(at[1]) >= length);
}

/** Where a JSON.parse error is: "at position N" when the message says it, else (an "Unexpected
 * token" message quotes the text instead) the end of the longest prefix that still parses as far
 * as it goes. cdktf.json is a few hundred characters: the scan is instant. */
function offsetOf(text, message) {
  const at = /at position (\d+)/.exec(message);
  if (at) return Number(at[1]);
  for (let length = 1; length <= text.length; length++) {
    try {
      JSON.parse(text.slice(0, length));
    } catch (error) {
      if (!endsEarly(error, length)) return length - 1;
    }
  }
  // Every prefix only ends early: the text itself does (an unclosed brace, an empty file).
  return text.length;
}

/** Offset, line and column (1-based) of a JSON.parse error. */
function where(text, message) {
  const offset = offsetOf(text, message);
  const before = text.slice(0, offset).split("\n");
  return { offset, line: before.length, column: before[before.length - 1].length + 1 };
}

/** The one-line error for a cdktf.json that is not valid JSON, or null. */
function problem(file) {
  let text;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return null;
  }
  try {
    JSON.parse(text);
    return null;
  } catch (error) {
    const found = where(text, error.message);
    const reason = error.message.replace(/ (in JSON )?at position \d+.*$/s, "").replace(/, (".*"|\.\.\.".*) is not valid JSON$/s, "");
    const place = `line ${found.line}, column ${found.column}: `;
    const trailing = text.slice(0, found.offset).trimEnd().endsWith(",");
    const hint = trailing ? "; remove the trailing comma" : "";
    return `error: invalid configuration: cdktf.json: ${place}${reason}${hint} (not valid JSON)`;
  }
}

/** The CLI's environment: as make sets it (Makefile). No update check against HashiCorp unless the
 * user set CHECKPOINT_DISABLE (offline, every run printed getaddrinfo ENOTFOUND
 * checkpoint-api.hashicorp.com, even on success); a TF_CLI_CONFIG_FILE naming a missing file (every
 * terraform command warns about it) is replaced by an empty configuration. */
function cliEnvironment(env) {
  const result = { ...env };
  if (result.CHECKPOINT_DISABLE === undefined) result.CHECKPOINT_DISABLE = "1";
  if (result.TF_CLI_CONFIG_FILE && !fs.existsSync(result.TF_CLI_CONFIG_FILE)) result.TF_CLI_CONFIG_FILE = "/dev/null";
  return result;
}

const found = problem(path.join(process.cwd(), "cdktf.json"));
if (found) {
  process.stderr.write(found + "\n");
  process.exit(2);
}
const cli = require.resolve("cdktf-cli/bundle/bin/cdktf.js", { paths: [path.join(__dirname, "..")] });
const child = spawn(process.execPath, [...process.execArgv, cli, ...process.argv.slice(2)], {
  stdio: "inherit",
  env: cliEnvironment(process.env),
});
// Ctrl-C reaches the CLI from the terminal (one process group): wait for it to finish cleanly. A
// signal sent to this process alone is passed on.
process.on("SIGINT", () => {});
for (const signal of ["SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(signal ? 128 + os.constants.signals[signal] : code));
