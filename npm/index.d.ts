/** The absolute path of the bundled SQLite extension (lib/otelcat.so), or $OTELCAT_LOADABLE_PATH. */
export function getLoadablePath(): string;
/** Loads otelcat into a database with a loadExtension(path) method (better-sqlite3, node:sqlite). */
export function load<T extends { loadExtension(path: string): unknown }>(db: T): T;
/** The package's (and the extension's) version, e.g. "0.2.0". */
export const version: string;
declare const otelcat: { getLoadablePath: typeof getLoadablePath; load: typeof load; version: string };
export default otelcat;
