/** werf's giterminism configuration file, at the project root (a module of its own: the loader's first git reads name it). */
export const GITERMINISM_FILE = 'werf-giterminism.yaml';
