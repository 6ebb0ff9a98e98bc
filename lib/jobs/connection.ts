// Redis connections for BullMQ. Queues (producers) fail fast when Redis is down so a request can answer
// at once; workers (consumers) must use maxRetriesPerRequest: null, as BullMQ requires.
import { Redis } from 'ioredis';
import { readEnv } from '../config/env';

const holder = globalThis as unknown as { __lifeboatRedis?: Redis };

export function producerConnection(): Redis {
  holder.__lifeboatRedis ??= new Redis(readEnv(['REDIS_URL']).REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false });
  return holder.__lifeboatRedis;
}

export function workerConnection(): Redis {
  return new Redis(readEnv(['REDIS_URL']).REDIS_URL, { maxRetriesPerRequest: null });
}

/** Resolves once the producer connection is up, or rejects after `timeoutMs` (Redis down). */
export async function producerReady(timeoutMs = 2000): Promise<Redis> {
  const conn = producerConnection();
  if (conn.status === 'ready') return conn;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      conn.off('ready', onReady);
      reject(new Error(`Redis did not become ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    conn.once('ready', onReady);
  });
  return conn;
}
