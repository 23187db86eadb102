'use strict';
// otelcat for Node: the path of the bundled SQLite extension and a loader
// for better-sqlite3 (or anything with loadExtension(path)).
const fs = require('node:fs');
const path = require('node:path');
const { version } = require('./package.json');

const PLATFORMS = ['linux-x64'];

/** The absolute path of the bundled extension (lib/otelcat.so).
 *  The environment variable OTELCAT_LOADABLE_PATH overrides it. */
function getLoadablePath() {
  const override = process.env.OTELCAT_LOADABLE_PATH;
  if (override) return override;
  const platform = `${process.platform}-${process.arch}`;
  if (!PLATFORMS.includes(platform)) {
    throw new Error(`otelcat: no prebuilt extension for ${platform} (this package carries ${PLATFORMS.join(', ')}); ` +
      'build it from source with `make` and set OTELCAT_LOADABLE_PATH to dist/otelcat.so');
  }
  const file = path.join(__dirname, 'lib', 'otelcat.so');
  if (!fs.existsSync(file)) throw new Error(`otelcat: the bundled extension ${file} is missing: reinstall otelcat`);
  return file;
}

/** Loads otelcat into a better-sqlite3 Database (db.loadExtension), or a
 *  node:sqlite DatabaseSync opened with { allowExtension: true }. */
function load(db) {
  if (!db || typeof db.loadExtension !== 'function') {
    throw new TypeError('otelcat.load(db): db must be a better-sqlite3 Database (or have a loadExtension(path) method)');
  }
  db.loadExtension(getLoadablePath());
  return db;
}

module.exports = { getLoadablePath, load, version };
