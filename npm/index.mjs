// ES module entry: the same functions as index.js.
import otelcat from './index.js';

export const { getLoadablePath, load, version } = otelcat;
export default otelcat;
