-- Agentyard — Postgres bootstrap for docker-compose (mounted into /docker-entrypoint-initdb.d/).
--
-- Runs once, as POSTGRES_USER (`agentyard`), only when the data volume is empty. After changing
-- it, recreate the volume: `docker compose down -v`.
--
-- One database per service: a service never reads another service's tables (architecture.md §2).
-- The gateway owns no data and has no database. Each service creates its own tables (it migrates
-- its database at boot), so this file only creates the empty databases.
--
-- The list is infra/services.json's `database`s (the manifest of the services); this file, the
-- DATABASE_URLs of docker-compose.yml and the keys of k8s/base/database-secret.yaml are checked
-- against it by infra/ops/ops-config.unit.spec.ts.

CREATE DATABASE agentyard_auth;
CREATE DATABASE agentyard_tasks;
CREATE DATABASE agentyard_workers;
CREATE DATABASE agentyard_workflows;
CREATE DATABASE agentyard_allocation;
