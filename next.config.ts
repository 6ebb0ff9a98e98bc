import type { NextConfig } from 'next';

const config: NextConfig = {
  // Server-side packages with native or dynamic requires stay outside the bundle.
  serverExternalPackages: ['zstd-napi', 'bullmq', 'ioredis', 'pino', 'pg', '@prisma/adapter-pg', '@aws-sdk/client-s3', '@aws-sdk/lib-storage'],
  poweredByHeader: false,
  typescript: { tsconfigPath: 'tsconfig.json' },
};

export default config;
