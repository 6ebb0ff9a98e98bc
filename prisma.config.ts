// Prisma CLI configuration. Only `prisma generate` is used from the CLI: migrations run through
// scripts/db/migrate.ts (offline schema engine, see docs/development.md).
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost/lifeboat' },
});
