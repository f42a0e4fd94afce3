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
// void 0;`, and either `exports.a = require("./a");` (cdktf's bindings) or, after tsc's
// __createBinding/__setModuleDefault/__importStar helpers, `exports.a = __importStar(require(
// "./a/index"));` (CDK Terrain's)), the file loads as usual after a one-line warning: slower, never
// different. IAC_LAZY_PROVIDER=0 (the switch of lazy_provider.py) turns it off here too, for a
// process that inherited NODE_OPTIONS from one that had the loader on.
const Module = require('module');
const fs = require('fs');
const path = require('path');

// The bindings' entry files of the two engines (cdktf, CDK Terrain).
const INDEXES = [
  ['@cdktf', 'provider-aws', 'lib', 'index.js'],
  ['@cdktn', 'provider-aws', 'lib', 'index.js'],
].map((parts) => path.sep + parts.join(path.sep));
const ASSIGN = /^exports\.([A-Za-z_$][\w$]*) = require\("(\.\/[\w.-]+)"\);$/;
const ASSIGN_STAR = /^exports\.([A-Za-z_$][\w$]*) = __importStar\(require\("(\.\/[\w./-]+)"\)\);$/;
const DECLARE = /^exports\.[A-Za-z_$][\w$]*(?: = exports\.[A-Za-z_$][\w$]*)* = void 0;$/;
const ESMODULE = 'Object.defineProperty(exports, "__esModule", { value: true });';
// tsc's helpers: each a `var __name = ...` statement over several lines that ends, unindented,
// with `...;`. They define functions only; a `require(` among them means the file is not tsc's.
const HELPERS = ['__createBinding', '__setModuleDefault', '__importStar'];

/** {entries: [[name, request], ...] in file order, star: whether each is wrapped in __importStar},
 * or null if the file is not laid out as expected. */
function parseIndex(source) {
  const entries = [];
  const declared = new Set();
  const helpers = new Set();
  let inComment = false;
  let inHelper = false;
  let starred = 0;
  for (const raw of source.split('\n')) {
    const line = raw.trim();
    if (inComment) {
      inComment = !line.endsWith('*/');
      continue;
    }
    if (inHelper) {
      if (line.includes('require(')) return null;
      inHelper = !(raw === line && line.endsWith(';'));
      continue;
    }
    if (line === '' || line === '"use strict";' || line === ESMODULE || line.startsWith('//')) continue;
    if (line.startsWith('/*')) {
      inComment = !line.endsWith('*/');
      continue;
    }
    const helper = HELPERS.find((name) => line.startsWith(`var ${name} = `));
    if (helper && entries.length === 0) {
      helpers.add(helper);
      inHelper = !line.endsWith(';');
      continue;
    }
    if (DECLARE.test(line)) {
      for (const name of line.slice(0, -' = void 0;'.length).split(' = ')) declared.add(name.slice('exports.'.length));
      continue;
    }
    const plain = ASSIGN.exec(line);
    const wrapped = plain ? null : ASSIGN_STAR.exec(line);
    if (!plain && !wrapped) return null;
    if (wrapped) starred += 1;
    const [, name, request] = plain || wrapped;
    entries.push([name, request]);
  }
  const names = new Set(entries.map(([name]) => name));
  if (inComment || inHelper || entries.length === 0 || names.size !== entries.length) return null;
  for (const name of declared) if (!names.has(name)) return null; // a declared name never assigned
  const star = starred === entries.length;
  if (!star && starred > 0) return null; // one style or the other, not both
  if (star && helpers.size !== HELPERS.length) return null; // __importStar used but not defined
  return { entries, star };
}

/** What tsc's __importStar makes of a module: the module itself when it is an ES module (every
 * submodule of the bindings is), else a namespace of its properties with it as the default. */
function importStar(mod) {
  if (mod && mod.__esModule) return mod;
  const result = {};
  if (mod != null) {
    for (const key of Object.getOwnPropertyNames(mod)) {
      if (key !== 'default') Object.defineProperty(result, key, { enumerable: true, get: () => mod[key] });
    }
  }
  Object.defineProperty(result, 'default', { enumerable: true, value: mod });
  return result;
}

function defineLazyExports(module, { entries, star }) {
  const exported = module.exports;
  Object.defineProperty(exported, '__esModule', { value: true });
  const settle = (name, value) =>
    Object.defineProperty(exported, name, { value, writable: true, enumerable: true, configurable: true });
  for (const [name, request] of entries) {
    Object.defineProperty(exported, name, {
      enumerable: true,
      configurable: true,
      get() {
        const required = module.require(request);
        const value = star ? importStar(required) : required;
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
  if (INDEXES.some((index) => filename.endsWith(index))) {
    let parsed = null;
    try {
      parsed = parseIndex(fs.readFileSync(filename, 'utf8'));
    } catch {
      // unreadable: loaded as usual below, after the warning
    }
    if (parsed) {
      defineLazyExports(module, parsed);
      return;
    }
    process.stderr.write(`warning: IAC_LAZY_PROVIDER: ${filename} is not laid out as expected; loading all of it\n`);
  }
  return loadJs.call(this, module, filename);
};

module.exports = { parseIndex, importStar };
