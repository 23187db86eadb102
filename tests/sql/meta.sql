SELECT 'otelcat_version', otelcat_version() LIKE 'v%.%.%';
SELECT 'otelcat_debug names the version', instr(otelcat_debug(), otelcat_version()) > 0;
SELECT 'otelcat_debug names the SQLite in use', instr(otelcat_debug(), sqlite_version()) > 0;
