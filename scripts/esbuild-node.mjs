// The esbuild options both bundles of the tree share (scripts/bundle.mjs for dist/, scripts/ts-loader/bundle.mjs for a
// test run): ES modules for node 20, the modules several entries import in chunks of their own, every package left to
// node_modules (native addons and packages that find files beside themselves stay where they are).
export const NODE_BUNDLE = { bundle: true, splitting: true, format: 'esm', platform: 'node', target: 'node20', packages: 'external', logLevel: 'warning' };
