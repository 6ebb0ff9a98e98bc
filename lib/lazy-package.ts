// Lazily imported CommonJS packages (the AWS SDK's lib-storage and KMS client). Node gives a CommonJS
// module's exports both as named exports and as `default` (module.exports); the CLI's esbuild bundle, which
// carries these packages inside it, gives only `default`. Reading `default` when present works for both.
export function commonJsExports<T extends object>(namespace: T): T {
  const fromDefault = (namespace as { default?: unknown }).default;
  return fromDefault !== null && typeof fromDefault === 'object' ? (fromDefault as T) : namespace;
}
