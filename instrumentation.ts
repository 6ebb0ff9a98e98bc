// Runs once when the console's server starts: a missing or malformed setting stops it with one line per
// variable, instead of failing later on the first request.
export async function register() {
  if (process.env.NEXT_RUNTIME !== 'nodejs' || process.env.NEXT_PHASE === 'phase-production-build') return;
  const { readEnvOrExit } = await import('./lib/config/env');
  readEnvOrExit(['DATABASE_URL', 'REDIS_URL', 'LIFEBOAT_SECRET_KEY', 'NEXTAUTH_SECRET', 'NEXTAUTH_URL']);
}
