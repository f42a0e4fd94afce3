'use strict';
// The Node half of constructs_lib/lazy_provider.py: loaded into the jsii kernel's Node process
// with NODE_OPTIONS=--require, which lazy_provider.install() sets before that process starts.
//
// When the kernel loads the AWS provider's assembly it requires the package's lib/index.js, which
// is 2,212 lines of `exports.vpc = require("./vpc");`: about 2 s of every synth, spent compiling
// modules the app never uses. For that one file, this defines each export as a getter that
// requires its submodule on first use instead (the kernel finds a class by walking the exports,
// `closure.vpc.Vpc`, so it meets the getter). Every other file loads as usual.
//
// The file is parsed, not run: if a line is anything but the statements tsc emits for
// `export * as x from "./x"` (comments, "use strict", the __esModule flag, `exports.a = ... =
// void 0;`, `exports.a = require("./a");`), the file loads as usual after a one-line warning:
// slower, never different. IAC_LAZY_PROVIDER=0 (the switch of lazy_provider.py) turns it off here
// too, for a process that inherited NODE_OPTIONS from one that had the loader on.
const Module = require('module');
const fs = require('fs');
const path = require('path');

const INDEX = path.sep + ['@cdktf', 'provider-aws', 'lib', 'index.js'].join(path.sep);
const ASSIGN = /^exports\.([A-Za-z_$][\w$]*) = require\("(\.\/[\w.-]+)"\);$/;
const DECLARE = /^exports\.[A-Za-z_$][\w$]*(?: = exports\.[A-Za-z_$][\w$]*)* = void 0;$/;
const ESMODULE = 'Object.defineProperty(exports, "__esModule", { value: true });';

/** [[name, request], ...] in file order, or null if the file is not laid out as expected. */
function parseIndex(source) {
  const entries = [];
  const declared = new Set();
  let inComment = false;
  for (const raw of source.split('\n')) {
    const line = raw.trim();
    if (inComment) {
      inComment = !line.endsWith('*/');
      continue;
    }
    if (line === '' || line === '"use strict";' || line === ESMODULE || line.startsWith('//')) continue;
    if (line.startsWith('/*')) {
      inComment = !line.endsWith('*/');
      continue;
    }
    if (DECLARE.test(line)) {
      for (const name of line.slice(0, -' = void 0;'.length).split(' = ')) declared.add(name.slice('exports.'.length));
      continue;
    }
    const match = ASSIGN.exec(line);
    if (!match) return null;
    entries.push([match[1], match[2]]);
  }
  const names = new Set(entries.map(([name]) => name));
  if (inComment || entries.length === 0 || names.size !== entries.length) return null;
  for (const name of declared) if (!names.has(name)) return null; // a declared name never assigned
  return entries;
}

function defineLazyExports(module, entries) {
  const exported = module.exports;
  Object.defineProperty(exported, '__esModule', { value: true });
  const settle = (name, value) =>
    Object.defineProperty(exported, name, { value, writable: true, enumerable: true, configurable: true });
  for (const [name, request] of entries) {
    Object.defineProperty(exported, name, {
      enumerable: true,
      configurable: true,
      get() {
        const value = module.require(request);
        settle(name, value);
        return value;
      },
      set(value) {
        settle(name, value);
      },
    });
  }
}

const switchedOff = ['0', 'false', 'no', 'off'].includes((process.env.IAC_LAZY_PROVIDER || '1').trim().toLowerCase());
const loadJs = Module._extensions['.js'];
Module._extensions['.js'] = function (module, filename) {
  if (switchedOff) return loadJs.call(this, module, filename);
  if (filename.endsWith(INDEX)) {
    let entries = null;
    try {
      entries = parseIndex(fs.readFileSync(filename, 'utf8'));
    } catch {
      // unreadable: loaded as usual below, after the warning
    }
    if (entries) {
      defineLazyExports(module, entries);
      return;
    }
    process.stderr.write(`warning: IAC_LAZY_PROVIDER: ${filename} is not laid out as expected; loading all of it\n`);
  }
  return loadJs.call(this, module, filename);
};

module.exports = { parseIndex };
