/*
 * The artifact store contract (artifact-store.contract.ts) against each adapter: Postgres on a
 * fresh tasks database always; S3 when S3_URL names an S3-compatible server (S3_BUCKET, default
 * `agentyard-test`, is created when missing; credentials from AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY). Without S3_URL (no S3 server runs on these machines) the S3 suite is
 * reported as skipped, with the reason printed at run time.
 */
import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { testDatabase } from '@agentyard/local-infra';
import { PostgresArtifactStore } from '../src/infrastructure/postgres-artifact.store';
import { S3ArtifactStore } from '../src/infrastructure/s3-artifact.store';
import { migrateTasksDatabase, openTasksDatabase } from '../src/infrastructure/tasks.database';
import { describeArtifactStoreContract } from './artifact-store.contract';

describeArtifactStoreContract('PostgresArtifactStore', async () => {
  const db = openTasksDatabase(await testDatabase('tasks_artifacts'), 4);
  await migrateTasksDatabase(db);
  return { store: new PostgresArtifactStore(db), close: () => db.destroy() };
});

const s3Url = process.env.S3_URL;

describeArtifactStoreContract(
  'S3ArtifactStore',
  async () => {
    const bucket = process.env.S3_BUCKET ?? 'agentyard-test';
    const region = process.env.S3_REGION ?? 'us-east-1';
    const client = new S3Client({ endpoint: s3Url, region, forcePathStyle: true });
    try {
      await client.send(new HeadBucketCommand({ Bucket: bucket }));
    } catch {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    } finally {
      client.destroy();
    }
    // A prefix per run: runs against a shared bucket do not see each other's objects.
    const store = new S3ArtifactStore({ endpoint: s3Url, bucket, region, prefix: `test-${randomUUID()}/`, forcePathStyle: true });
    return { store, close: async () => store.close() };
  },
  s3Url ? {} : { skipBecause: 'S3_URL is not set (no S3-compatible server on this machine)' },
);
