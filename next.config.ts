import type { NextConfig } from 'next';

const config: NextConfig = {
  // Server-side packages with native or dynamic requires stay outside the bundle.
  serverExternalPackages: ['zstd-napi', 'bullmq', 'ioredis', 'pino', 'pg', '@prisma/adapter-pg', '@aws-sdk/client-s3', '@aws-sdk/lib-storage'],
  poweredByHeader: false,
  // `npm test` type-checks the whole tree with tsc once; the build need not do it again.
  typescript: { tsconfigPath: 'tsconfig.json', ignoreBuildErrors: true },
};

export default config;
