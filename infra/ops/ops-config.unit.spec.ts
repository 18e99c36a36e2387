/*
 * Static checks of the deploy files: docker-compose.yml, Dockerfile, infra/nats, infra/postgres,
 * infra/prometheus and every k8s/ manifest. Compose, the k8s base and the Prometheus targets must
 * each name exactly the backend services under services/ (every folder with a src/main.ts, libs
 * aside). No Docker engine or cluster is needed. Two optional extras run when the tool
 * is installed: `nats-server -t` (config test mode) on the NATS configs, and `kubectl kustomize` on
 * each overlay (with its helmCharts stripped, since rendering the chart needs helm and the network).
 *
 *   npx jest infra/ops
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { isAddressOrCidr } from '@agentyard/service-kit';

const ROOT = resolve(__dirname, '../..');
const K8S = join(ROOT, 'k8s');
const NATS_DIR = join(ROOT, 'infra/nats');
const MIN_NATS = [2, 12, 7] as const; // platform-notes.md: >= 2.12.7 with sync_interval: always
const NATS_CHART_REPO = 'https://nats-io.github.io/k8s/helm/charts/';

// ---- YAML: the `yaml` package if present, else `js-yaml` (both are in node_modules today) --------
type Yaml = { parseAll(text: string, file: string): unknown[]; stringify(value: unknown): string };
function loadYaml(): Yaml {
  try {
    const y = require('yaml') as {
      parseAllDocuments(t: string, o: object): Array<{ errors: Error[]; toJSON(): unknown }>;
      stringify(v: unknown): string;
    };
    return {
      parseAll(text, file) {
        return y.parseAllDocuments(text, { merge: true }).map((doc) => {
          if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0].message}`);
          return doc.toJSON();
        });
      },
      stringify: (v) => y.stringify(v),
    };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
  }

  const j = require('js-yaml') as { loadAll(t: string, cb?: undefined, o?: object): unknown[]; dump(v: unknown): string };
  return { parseAll: (text, file) => j.loadAll(text, undefined, { filename: file }), stringify: (v) => j.dump(v) };
}
const YAML = loadYaml();

// ---- helpers ---------------------------------------------------------------------------------------
// Parsed Kubernetes/compose YAML of any shape, walked by property paths (`d.spec.template.spec…`)
// in assertions: with `unknown` every step would need a cast, and a wrong path already fails the
// assertion it feeds, so `any` costs no safety here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

const read = (file: string): string => readFileSync(file, 'utf8');
const parseDocs = (file: string): Obj[] => YAML.parseAll(read(file), relative(ROOT, file)).filter((d): d is Obj => d != null);
const parseOne = (file: string): Obj => {
  const docs = parseDocs(file);
  if (docs.length !== 1) throw new Error(`${file}: expected one YAML document, got ${docs.length}`);
  return docs[0];
};

function walk(dir: string, pred: (file: string) => boolean): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...walk(full, pred));
    else if (pred(full)) out.push(full);
  }
  return out.sort();
}

function versionOf(tag: string): number[] | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(tag);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}
function atLeast(v: readonly number[], min: readonly number[]): boolean {
  for (let i = 0; i < min.length; i++) if (v[i] !== min[i]) return v[i] > min[i];
  return true;
}

/** Keys of a nats-server config (any nesting level), comments stripped. */
function natsConfigKeys(text: string): string[] {
  return text
    .split('\n')
    .map((line) =>
      line
        .replace(/#.*$/, '')
        .replace(/\/\/.*$/, '')
        .trim(),
    )
    .map((line) => /^([A-Za-z_][\w-]*)\s*(?:[:=]|\{|\s)/.exec(line)?.[1])
    .filter((k): k is string => Boolean(k))
    .map((k) => k.toLowerCase());
}
/** The body of the top-level `jetstream { ... }` block of a nats-server config. */
function jetstreamBlock(text: string): string | undefined {
  const clean = text.replace(/#.*$/gm, '');
  const start = /^\s*jetstream\s*[:=]?\s*\{/m.exec(clean);
  if (!start) return undefined;
  let depth = 0;
  for (let i = start.index + start[0].length - 1; i < clean.length; i++) {
    if (clean[i] === '{') depth++;
    if (clean[i] === '}' && --depth === 0) return clean.slice(start.index + start[0].length, i);
  }
  return undefined;
}

function findNatsServer(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin', '/usr/local/bin'];
  const candidates = [process.env.NATS_SERVER_BIN, ...dirs.filter(Boolean).map((d) => join(d, 'nats-server'))];
  return candidates.find((c): c is string => Boolean(c) && existsSync(c as string));
}
function findOnPath(cmd: string): string | undefined {
  return (process.env.PATH ?? '')
    .split(':')
    .filter(Boolean)
    .map((d) => join(d, cmd))
    .find((c) => existsSync(c));
}

// ---- the files under test ----------------------------------------------------------------------------
const compose = parseOne(join(ROOT, 'docker-compose.yml'));
const composeServices: Obj = compose.services ?? {};
/** Services built from our Dockerfile (`build.args.SERVICE`), not infrastructure. */
const composeAppServices = Object.entries(composeServices)
  .filter(([, s]) => s?.build?.args?.SERVICE)
  .map(([name]) => name)
  .sort();
/** infra/services.json: the one list of services that npm start and the test platform read too. */
const manifest = JSON.parse(read(join(ROOT, 'infra/services.json'))) as {
  httpPort: number;
  services: { name: string; database: string | null; env: string[]; devHttpPort: number; publicPort?: number; replicas: number }[];
};
const manifestServices = manifest.services.map((s) => s.name).sort();
/** The backend services in the source tree: every services/<name> with a src/main.ts. */
const backendServices = readdirSync(join(ROOT, 'services'))
  .filter((d) => d !== 'libs' && existsSync(join(ROOT, 'services', d, 'src/main.ts')))
  .sort();

const prometheus = parseOne(join(ROOT, 'infra/prometheus/prometheus.yml'));
/** Every static scrape target (`host:port`) of every job in the compose Prometheus config. */
const scrapeTargets: string[] = ((prometheus.scrape_configs ?? []) as Obj[]).flatMap((c) =>
  ((c.static_configs ?? []) as Obj[]).flatMap((sc) => (sc.targets ?? []) as string[]),
);

const initSql = read(join(ROOT, 'infra/postgres/init.sql'));
const initDatabases = [...initSql.replace(/--.*$/gm, '').matchAll(/CREATE\s+DATABASE\s+"?([A-Za-z_][\w]*)"?/gi)].map((m) => m[1]).sort();

const k8sYamlFiles = walk(K8S, (f) => /\.ya?ml$/.test(f));
const kustomizationFiles = k8sYamlFiles.filter((f) => basename(f) === 'kustomization.yaml');
const k8sObjects = k8sYamlFiles
  .filter((f) => !kustomizationFiles.includes(f))
  .flatMap((file) => parseDocs(file).map((doc) => ({ file, doc })))
  .filter(({ doc }) => typeof doc.kind === 'string' && typeof doc.apiVersion === 'string');
/** Full manifests (not patches) under k8s/base. */
const baseObjects = k8sObjects.filter(({ file }) => file.startsWith(join(K8S, 'base') + '/')).map(({ doc }) => doc);
const ofKind = (objs: Obj[], kind: string): Obj[] => objs.filter((o) => o.kind === kind);
const dbSecret = ofKind(baseObjects, 'Secret').find((s) => s.metadata?.name === 'agentyard-database');

const dbNameOf = (url: string): string => new URL(url).pathname.replace(/^\//, '');
const secretKeyFor = (service: string): string => `${service.toUpperCase()}_DATABASE_URL`;

/** Every check a Deployment of ours must pass; returns the problems found. */
function deploymentProblems(d: Obj): string[] {
  const name: string = d.metadata?.name ?? '?';
  const problems: string[] = [];
  const pod: Obj = d.spec?.template?.spec ?? {};
  const podSc: Obj = pod.securityContext ?? {};
  const containers: Obj[] = pod.containers ?? [];
  if (containers.length === 0) problems.push(`${name}: no containers`);
  for (const c of containers) {
    const where = `${name}/${c.name}`;
    const sc: Obj = c.securityContext ?? {};
    const ports: Obj[] = c.ports ?? [];
    const portOk = (p: unknown): boolean => ports.some((x) => x.name === p || x.containerPort === p);
    for (const [probe, path] of [
      ['livenessProbe', '/health/live'],
      ['readinessProbe', '/health/ready'],
    ] as const) {
      const get: Obj | undefined = c[probe]?.httpGet;
      if (!get) problems.push(`${where}: no ${probe}.httpGet`);
      else {
        if (get.path !== path) problems.push(`${where}: ${probe} path ${get.path}, expected ${path}`);
        if (!portOk(get.port)) problems.push(`${where}: ${probe} port ${get.port} is not a declared container port`);
      }
    }
    for (const kind of ['requests', 'limits'])
      for (const res of ['cpu', 'memory']) if (c.resources?.[kind]?.[res] == null) problems.push(`${where}: no resources.${kind}.${res}`);
    const runAsNonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
    const runAsUser = sc.runAsUser ?? podSc.runAsUser;
    if (runAsNonRoot !== true) problems.push(`${where}: runAsNonRoot is not true`);
    // The image's USER is the name `node`; kubelet can only verify runAsNonRoot with a numeric uid.
    if (!(typeof runAsUser === 'number' && runAsUser > 0)) problems.push(`${where}: runAsUser must be a non-zero uid`);
    if (sc.readOnlyRootFilesystem !== true) problems.push(`${where}: readOnlyRootFilesystem is not true`);
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation is not false`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push(`${where}: capabilities.drop lacks ALL`);
    if (sc.readOnlyRootFilesystem === true && !(c.volumeMounts ?? []).some((m: Obj) => m.mountPath === '/tmp'))
      problems.push(`${where}: read-only root filesystem but no writable /tmp mount`);
  }
  return problems;
}

// =====================================================================================================
describe('Dockerfile and .dockerignore', () => {
  const dockerfile = read(join(ROOT, 'Dockerfile'));
  const lines = dockerfile.split('\n').filter((l) => !/^\s*#/.test(l));
  const froms = lines.filter((l) => /^FROM\s/i.test(l));
  const finalStage = lines.slice(lines.lastIndexOf(froms[froms.length - 1])).join('\n');

  it('is multi-stage on node:20-bookworm-slim', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    const base = /^ARG NODE_IMAGE=(\S+)/m.exec(dockerfile)?.[1];
    for (const from of froms) {
      const image = from.split(/\s+/)[1];
      const resolved = image === '${NODE_IMAGE}' ? base : image;
      const isStage = froms.some((f) => new RegExp(`\\sAS\\s+${image}\\s*$`, 'i').test(f));
      if (!isStage) expect(resolved).toMatch(/^node:20(\.\d+)*-bookworm-slim$/);
    }
  });

  it('installs node-pty build tools, runs npm ci and npm run build', () => {
    expect(dockerfile).toMatch(/apt-get install[^\n]*python3[^\n]*make[^\n]*g\+\+/);
    expect(dockerfile).toMatch(/\bnpm ci\b/);
    expect(dockerfile).toMatch(/\bnpm run build\b/);
  });

  it('runs the final stage as the non-root node user and starts services/$SERVICE/dist/main.js', () => {
    expect(finalStage).toMatch(/^ARG SERVICE\b/m);
    expect(finalStage).toMatch(/^USER (node|1000)\b/m);
    expect(finalStage).not.toMatch(/^RUN .*npm (ci|install)/m);
    expect(finalStage).toMatch(/^(CMD|ENTRYPOINT) .*services\/\$\{?SERVICE\}?\/dist\/main\.js/m);
  });

  it('keeps dependencies, build output, data and git out of the build context', () => {
    const ignored = read(join(ROOT, '.dockerignore'))
      .split('\n')
      .map((l) =>
        l
          .trim()
          .replace(/^\*\*\//, '')
          .replace(/\/$/, ''),
      )
      .filter((l) => l && !l.startsWith('#'));
    for (const entry of ['node_modules', 'dist', '.data', '.git', 'web/e2e/screenshots']) expect(ignored).toContain(entry);
  });
});

// =====================================================================================================
describe('docker-compose.yml', () => {
  it('has NATS, Postgres, optional KurrentDB and the Node services', () => {
    expect(Object.keys(composeServices)).toEqual(expect.arrayContaining(['nats', 'postgres', 'kurrentdb', 'auth', 'gateway']));
    expect(composeAppServices).toEqual(expect.arrayContaining(['auth', 'gateway']));
    expect(composeServices.kurrentdb.profiles).toEqual(['kurrentdb']);
    expect(composeServices.kurrentdb.image).toMatch(/^(docker\.kurrent\.io\/kurrent-[\w-]+\/kurrentdb|eventstore\/eventstore):/);
  });

  it('runs every backend service under services/ (and nothing else from the Dockerfile)', () => {
    expect(backendServices.length).toBeGreaterThan(0);
    expect(composeAppServices).toEqual(backendServices);
  });

  it(`runs nats-server >= ${MIN_NATS.join('.')} (a 2.12.x or 2.14.x+ tag, never latest or 2.9)`, () => {
    const image: string = composeServices.nats.image;
    const [repo, tag] = image.split(':');
    expect(repo).toMatch(/^(docker\.io\/(library\/)?)?nats$/);
    const v = versionOf(tag ?? '');
    expect(v).toBeDefined();
    expect(atLeast(v!, MIN_NATS)).toBe(true);
    expect(v![1] === 12 || v![1] >= 14 || v![0] > 2).toBe(true);
  });

  it('starts NATS with infra/nats/nats-production.conf at the path given to --config', () => {
    const nats = composeServices.nats;
    const args: string[] = Array.isArray(nats.command) ? nats.command : String(nats.command).split(/\s+/);
    const i = args.findIndex((a) => a === '--config' || a === '-c');
    expect(i).toBeGreaterThanOrEqual(0);
    const configPath = args[i + 1];
    const mount = (nats.volumes as string[]).find((v) => v.split(':')[1] === configPath);
    expect(mount?.split(':')[0]).toBe('./infra/nats/nats-production.conf');
    expect(nats.healthcheck?.test).toBeDefined();
  });

  it('bind-mounts only files that exist', () => {
    for (const [name, svc] of Object.entries<Obj>(composeServices))
      for (const v of (svc.volumes ?? []) as string[]) {
        const src = v.split(':')[0];
        if (src.startsWith('.') || src.startsWith('/')) expect({ name, src, exists: existsSync(resolve(ROOT, src)) }).toEqual({ name, src, exists: true });
      }
  });

  it('creates the per-service databases with infra/postgres/init.sql on postgres:15', () => {
    const pg = composeServices.postgres;
    expect(pg.image).toMatch(/^postgres:15(\.|-|$)/);
    expect((pg.volumes as string[]).some((v) => /^\.\/infra\/postgres\/init\.sql:\/docker-entrypoint-initdb\.d\//.test(v))).toBe(true);
    expect(initDatabases).toEqual(manifest.services.flatMap((s) => (s.database ? [s.database] : [])).sort());
  });

  it('gives every service a healthcheck and a restart policy; dependencies wait for health', () => {
    for (const [name, svc] of Object.entries<Obj>(composeServices)) {
      if (name === 'prometheus') continue;
      expect({ name, healthcheck: Boolean(svc.healthcheck?.test) }).toEqual({ name, healthcheck: true });
      expect({ name, restart: svc.restart }).toEqual({ name, restart: expect.stringMatching(/^(always|unless-stopped|on-failure)/) });
    }
  });

  it('only depends on defined services, and optional (profiled) ones are not required', () => {
    for (const [name, svc] of Object.entries<Obj>(composeServices)) {
      const deps: Obj = Array.isArray(svc.depends_on) ? Object.fromEntries(svc.depends_on.map((d: string) => [d, {}])) : (svc.depends_on ?? {});
      for (const [dep, cond] of Object.entries<Obj>(deps)) {
        expect({ name, dep, defined: dep in composeServices }).toEqual({ name, dep, defined: true });
        const depProfiles: string[] = composeServices[dep]?.profiles ?? [];
        const ownProfiles: string[] = svc.profiles ?? [];
        if (depProfiles.length > 0 && !depProfiles.every((p) => ownProfiles.includes(p)))
          expect({ name, dep, required: cond.required }).toEqual({ name, dep, required: false });
        if (composeServices[dep]?.healthcheck) expect({ name, dep, condition: cond.condition }).toEqual({ name, dep, condition: 'service_healthy' });
      }
    }
  });

  describe.each(composeAppServices)('service %s', (name) => {
    const svc: Obj = composeServices[name];
    const env: Obj = svc.environment ?? {};
    const isGateway = name === 'gateway';

    it('runs two replicas or more (a lease holder and a standby)', () => {
      expect(svc.deploy?.replicas).toBeGreaterThanOrEqual(2);
    });

    it('is built from the Dockerfile with SERVICE=<its name> and tagged agentyard/<name>', () => {
      expect(svc.build.args.SERVICE).toBe(name);
      expect(svc.build.dockerfile ?? 'Dockerfile').toBe('Dockerfile');
      expect(svc.image).toMatch(new RegExp(`^agentyard/${name}(:|$)`));
    });

    it('gets NATS_URL pointing at the nats service and waits for it', () => {
      expect(env.NATS_URL).toBe('nats://nats:4222');
      expect(svc.depends_on?.nats?.condition).toBe('service_healthy');
    });

    it('is health-checked on its own HTTP port', () => {
      const port = isGateway ? (env.PORT ?? '8080') : (env.HTTP_PORT ?? '3000');
      const test = ([] as string[]).concat(svc.healthcheck.test).join(' ');
      expect(test).toContain(`:${port}/health/ready`);
    });

    it(name === 'auth' ? 'requires SECRETS_MASTER_KEY from the environment, with no default' : 'has no secrets master key', () => {
      if (name === 'auth') expect(String(env.SECRETS_MASTER_KEY)).toMatch(/^\$\{SECRETS_MASTER_KEY:\?[^}]+\}$/);
      else expect(env.SECRETS_MASTER_KEY).toBeUndefined();
    });

    if (isGateway) {
      it('publishes 8080 and has CORS_ORIGINS, and no database', () => {
        expect(env.PORT).toBe('8080');
        // A host port per replica: 8080 for the first.
        expect((svc.ports as string[]).some((p) => /(^|:)8080(-\d+)?:8080$/.test(String(p)))).toBe(true);
        expect(env.CORS_ORIGINS).toBeDefined();
        expect(env.DATABASE_URL).toBeUndefined();
      });

      it('serves metrics on an internal HTTP_PORT that is not published, and Prometheus scrapes that one', () => {
        expect(env.HTTP_PORT).toBeDefined();
        expect(env.HTTP_PORT).not.toBe(env.PORT);
        expect((svc.ports as string[]).some((p) => String(p).endsWith(`:${env.HTTP_PORT}`))).toBe(false);
        expect(scrapeTargets).toContain(`gateway:${env.HTTP_PORT}`);
        expect(scrapeTargets).not.toContain(`gateway:${env.PORT}`);
      });

      it('trusts no forwarding proxy unless told (TRUSTED_PROXIES, empty by default)', () => {
        expect(env.TRUSTED_PROXIES).toBe('${TRUSTED_PROXIES:-}');
      });
    } else {
      it('uses its own database, created by init.sql, and waits for Postgres', () => {
        const db = dbNameOf(String(env.DATABASE_URL).replace(/\$\{[^}]*\}/g, 'x'));
        expect(db).toBe(`agentyard_${name}`);
        expect(initDatabases).toContain(db);
        expect(svc.depends_on?.postgres?.condition).toBe('service_healthy');
      });
    }
  });
});

// =====================================================================================================
describe('infra/prometheus/prometheus.yml', () => {
  it('scrapes exactly the backend services, one target each (a missing or commented-out one fails)', () => {
    const hosts = scrapeTargets.map((t) => t.split(':')[0]).sort();
    expect(hosts).toEqual(backendServices);
    expect(hosts).toEqual(composeAppServices);
  });

  it("scrapes each service on its compose HTTP_PORT, /metrics, never the gateway's public port", () => {
    for (const target of scrapeTargets) {
      const [host, port] = target.split(':');
      const env: Obj = composeServices[host]?.environment ?? {};
      expect({ target, port }).toEqual({ target, port: String(env.HTTP_PORT ?? '3000') });
    }
    for (const job of (prometheus.scrape_configs ?? []) as Obj[])
      expect({ job: job.job_name, path: job.metrics_path ?? '/metrics' }).toEqual({ job: job.job_name, path: '/metrics' });
  });
});

// =====================================================================================================
describe('infra/nats configs', () => {
  const dev = read(join(NATS_DIR, 'nats-2.9.conf'));
  const prod = read(join(NATS_DIR, 'nats-production.conf'));
  // Keys nats-server 2.9.10 does not know (it refuses to start on them).
  const KEYS_SINCE_2_10 = ['sync_interval', 'sync', 'metadata', 'compression', 'max_buffered_msgs', 'max_buffered_size', 'strict', 'unique_tag'];

  it('nats-production.conf enables JetStream with sync_interval: always', () => {
    const js = jetstreamBlock(prod);
    expect(js).toBeDefined();
    expect(js).toMatch(/^\s*sync_interval\s*[:=]\s*"?always"?\s*$/m);
  });

  it('nats-2.9.conf enables JetStream and has no 2.10+ key', () => {
    expect(jetstreamBlock(dev)).toBeDefined();
    const keys = natsConfigKeys(dev);
    expect(keys.filter((k) => KEYS_SINCE_2_10.includes(k))).toEqual([]);
  });

  it('the header of nats-production.conf says why (Jepsen NATS 2.12.1, advisories)', () => {
    expect(prod).toMatch(/Jepsen/);
    expect(prod).toMatch(/2\.12\.1/);
    expect(prod).toMatch(/CVE-2026-27571/);
  });

  const natsServer = findNatsServer();
  const version = natsServer ? /v(\d+\.\d+\.\d+)/.exec(spawnSync(natsServer, ['--version'], { encoding: 'utf8' }).stdout ?? '')?.[1] : undefined;
  // `npm test` installs nats-server before Jest starts, so these normally run; when a developer
  // runs Jest directly without it, or with a 2.10+ server, the reason is printed, not hidden.
  const skipped = (reason: string) => (name: string) =>
    it(`${name} — not run: ${reason}`, () => {
      console.warn(`skipped "${name}": ${reason}`);
      expect(reason).toBeTruthy();
    });
  const itWithNats = natsServer ? it : skipped('nats-server is not installed');
  const itWithNats29 =
    natsServer && version && !atLeast(versionOf(version)!, [2, 10, 0]) ? it : skipped(`the installed nats-server is ${version ?? 'absent'}, not 2.9.x`);
  const testConfig = (file: string) => spawnSync(natsServer!, ['-c', file, '-t'], { encoding: 'utf8', cwd: ROOT, timeout: 15_000 });

  itWithNats(`nats-server ${version ?? ''} accepts nats-2.9.conf in config test mode (-t)`, () => {
    const r = testConfig(join(NATS_DIR, 'nats-2.9.conf'));
    expect({ status: r.status, out: `${r.stdout}${r.stderr}`.trim() }).toEqual({ status: 0, out: expect.stringContaining('is valid') });
  });

  itWithNats29('nats-server 2.9 rejects nats-production.conf only because of sync_interval', () => {
    const r = testConfig(join(NATS_DIR, 'nats-production.conf'));
    expect(r.status).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/unknown field "sync_interval"/);
    // Everything else in the production file is valid syntax.
    const dir = mkdtempSync(join(tmpdir(), 'agentyard-nats-conf-'));
    try {
      const stripped = join(dir, 'nats.conf');
      writeFileSync(stripped, prod.replace(/^\s*sync_interval\s*[:=].*$/m, ''));
      const r2 = testConfig(stripped);
      expect({ status: r2.status, out: `${r2.stdout}${r2.stderr}`.trim() }).toEqual({ status: 0, out: expect.stringContaining('is valid') });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// =====================================================================================================
describe('k8s manifests', () => {
  it('every YAML file under k8s/ parses, and there are base and overlay kustomizations', () => {
    expect(k8sYamlFiles.length).toBeGreaterThan(0);
    for (const f of k8sYamlFiles) expect(() => parseDocs(f)).not.toThrow();
    const rel = kustomizationFiles.map((f) => relative(K8S, f));
    expect(rel).toEqual(expect.arrayContaining(['base/kustomization.yaml', 'overlays/dev/kustomization.yaml', 'overlays/production/kustomization.yaml']));
  });

  it.each(kustomizationFiles.map((f) => [relative(ROOT, f), f]))('%s: resources, patches and values files exist', (_rel, file) => {
    const k = parseOne(file);
    const dir = dirname(file);
    const missing: string[] = [];
    for (const r of (k.resources ?? []) as string[]) {
      if (/^[a-z]+:\/\//.test(r)) continue; // remote
      const p = resolve(dir, r);
      const ok = existsSync(p) && (statSync(p).isFile() || existsSync(join(p, 'kustomization.yaml')));
      if (!ok) missing.push(`resource ${r}`);
    }
    for (const p of (k.patches ?? []) as Obj[]) if (p.path && !existsSync(resolve(dir, p.path))) missing.push(`patch ${p.path}`);
    for (const h of (k.helmCharts ?? []) as Obj[]) if (h.valuesFile && !existsSync(resolve(dir, h.valuesFile))) missing.push(`values ${h.valuesFile}`);
    expect(missing).toEqual([]);
  });

  it('a Deployment for every service: probes, resource limits, non-root, read-only root fs', () => {
    const deployments = ofKind(baseObjects, 'Deployment');
    expect(deployments.length).toBeGreaterThan(0);
    expect(deployments.flatMap(deploymentProblems)).toEqual([]);
  });

  it('every Deployment manifest anywhere under k8s/ passes the same checks', () => {
    const all = k8sObjects.filter(({ doc }) => doc.kind === 'Deployment' && doc.spec?.template?.spec?.containers);
    expect(all.flatMap(({ doc }) => deploymentProblems(doc))).toEqual([]);
  });

  it('runs two or more pods of every service, rolled out without a gap, and nothing is a singleton any more', () => {
    for (const d of ofKind(baseObjects, 'Deployment')) {
      const hpa = ofKind(baseObjects, 'HorizontalPodAutoscaler').find((h) => h.spec?.scaleTargetRef?.name === d.metadata.name);
      expect({ service: d.metadata.name, replicas: d.spec.replicas >= 2, hpaMin: hpa?.spec.minReplicas >= 2 }).toEqual({
        service: d.metadata.name,
        replicas: true,
        hpaMin: true,
      });
      expect({ service: d.metadata.name, strategy: d.spec.strategy?.type, maxUnavailable: d.spec.strategy?.rollingUpdate?.maxUnavailable }).toEqual({
        service: d.metadata.name,
        strategy: 'RollingUpdate',
        maxUnavailable: 0,
      });
    }
    for (const { file, doc } of k8sObjects)
      expect({ file, singleton: JSON.stringify(doc).includes('agentyard.dev/singleton') }).toEqual({ file, singleton: false });
    for (const overlay of ['dev', 'production']) {
      const k = parseOne(join(K8S, 'overlays', overlay, 'kustomization.yaml'));
      for (const r of (k.replicas ?? []) as Obj[]) expect({ overlay, name: r.name, count: r.count >= 2 }).toEqual({ overlay, name: r.name, count: true });
    }
  });

  it('compose, k8s and Prometheus name the same set of services', () => {
    const k8sServices = ofKind(baseObjects, 'Deployment')
      .map((d) => d.metadata.name)
      .sort();
    expect(k8sServices).toEqual(composeAppServices);
    expect(k8sServices).toEqual(backendServices);
    expect(scrapeTargets.map((t) => t.split(':')[0]).sort()).toEqual(k8sServices);
    // A service folder the base kustomization does not list would pass the file checks above but
    // never be deployed: the base lists exactly one folder per service.
    const baseFolders = ((parseOne(join(K8S, 'base/kustomization.yaml')).resources ?? []) as string[]).filter((r) => !/\.ya?ml$/.test(r)).sort();
    expect(baseFolders).toEqual(k8sServices);
  });

  it('every Deployment is annotated for Prometheus on HTTP_PORT and /metrics', () => {
    const cm = ofKind(baseObjects, 'ConfigMap').find((c) => c.metadata?.name === 'agentyard-config');
    for (const d of ofKind(baseObjects, 'Deployment')) {
      const a: Obj = d.spec?.template?.metadata?.annotations ?? {};
      expect({ service: d.metadata.name, scrape: a['prometheus.io/scrape'], port: a['prometheus.io/port'], path: a['prometheus.io/path'] }).toEqual({
        service: d.metadata.name,
        scrape: 'true',
        port: cm!.data.HTTP_PORT,
        path: '/metrics',
      });
    }
  });

  describe.each(composeAppServices)('k8s service %s', (name) => {
    const deployment = ofKind(baseObjects, 'Deployment').find((d) => d.metadata?.name === name);
    const container: Obj = deployment?.spec?.template?.spec?.containers?.[0] ?? {};
    const env: Obj[] = container.env ?? [];
    const labels: Obj = deployment?.spec?.template?.metadata?.labels ?? {};
    const selects = (sel: Obj | undefined) => !!sel && Object.entries(sel).every(([k, v]) => labels[k] === v);

    it('runs image agentyard/<name> with the shared ConfigMap', () => {
      expect(container.image).toMatch(new RegExp(`^agentyard/${name}(:|$)`));
      expect((container.envFrom ?? []).map((e: Obj) => e.configMapRef?.name)).toContain('agentyard-config');
    });

    it('has an autoscaling/v2 HPA on CPU 70%, a PodDisruptionBudget and a Service that select it', () => {
      const hpa = ofKind(baseObjects, 'HorizontalPodAutoscaler').find((h) => h.spec?.scaleTargetRef?.name === name);
      expect(hpa?.apiVersion).toBe('autoscaling/v2');
      expect(hpa?.spec.scaleTargetRef.kind).toBe('Deployment');
      expect(hpa?.spec.metrics).toEqual(
        expect.arrayContaining([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }]),
      );
      expect(deployment?.spec.replicas).toBeGreaterThanOrEqual(hpa?.spec.minReplicas);
      expect(deployment?.spec.replicas).toBeLessThanOrEqual(hpa?.spec.maxReplicas);
      expect(ofKind(baseObjects, 'PodDisruptionBudget').some((p) => selects(p.spec?.selector?.matchLabels))).toBe(true);
      expect(ofKind(baseObjects, 'Service').some((s) => selects(s.spec?.selector))).toBe(true);
    });

    if (name === 'gateway') {
      it('listens on PORT 8080, has no database, and is exposed by an Ingress with /ws and WebSocket timeouts', () => {
        expect(env.find((e) => e.name === 'PORT')?.value).toBe('8080');
        expect(env.find((e) => e.name === 'DATABASE_URL')).toBeUndefined();
        const svc = ofKind(baseObjects, 'Service').find((s) => selects(s.spec?.selector));
        const ingress = ofKind(baseObjects, 'Ingress').find((i) =>
          (i.spec?.rules ?? []).some((r: Obj) => (r.http?.paths ?? []).some((p: Obj) => p.backend?.service?.name === svc?.metadata?.name)),
        );
        expect(ingress).toBeDefined();
        const paths = ingress!.spec.rules.flatMap((r: Obj) => r.http.paths.map((p: Obj) => p.path));
        expect(paths).toEqual(expect.arrayContaining(['/api', '/ws']));
        const a: Obj = ingress!.metadata.annotations ?? {};
        expect(Number(a['nginx.ingress.kubernetes.io/proxy-read-timeout'])).toBeGreaterThanOrEqual(3600);
        expect(Number(a['nginx.ingress.kubernetes.io/proxy-send-timeout'])).toBeGreaterThanOrEqual(3600);
      });
    } else {
      it('takes its own DATABASE_URL from the database Secret, naming a database init.sql creates', () => {
        const ref = env.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef;
        expect(ref).toEqual({ name: 'agentyard-database', key: secretKeyFor(name) });
        const url: string | undefined = dbSecret?.stringData?.[secretKeyFor(name)];
        expect(url).toBeDefined();
        expect(dbNameOf(url!)).toBe(`agentyard_${name}`);
        expect(container.ports?.some((p: Obj) => p.containerPort === 3000)).toBe(true);
      });
    }
  });

  it('gives auth alone its secrets master key, from a Secret that is not in git', () => {
    for (const d of ofKind(baseObjects, 'Deployment')) {
      const env: Obj[] = d.spec?.template?.spec?.containers?.[0]?.env ?? [];
      const key = env.find((e) => e.name === 'SECRETS_MASTER_KEY');
      if (d.metadata.name !== 'auth') expect({ service: d.metadata.name, key }).toEqual({ service: d.metadata.name, key: undefined });
      else expect(key?.valueFrom?.secretKeyRef).toEqual({ name: 'agentyard-secrets-master-key', key: 'SECRETS_MASTER_KEY' });
    }
    const inGit = k8sObjects.filter(
      ({ doc }) => JSON.stringify(doc.data ?? {}).includes('SECRETS_MASTER_KEY') || JSON.stringify(doc.stringData ?? {}).includes('SECRETS_MASTER_KEY'),
    );
    expect(inGit.map(({ file }) => file)).toEqual([]);
  });

  it("the gateway's metrics are scraped on its internal port, which its Service does not expose", () => {
    const gateway = ofKind(baseObjects, 'Deployment').find((d) => d.metadata?.name === 'gateway')!;
    const container: Obj = gateway.spec.template.spec.containers[0];
    const scrapePort = Number(gateway.spec.template.metadata.annotations['prometheus.io/port']);
    const cm = ofKind(baseObjects, 'ConfigMap').find((c) => c.metadata?.name === 'agentyard-config');
    expect(scrapePort).toBe(Number(cm!.data.HTTP_PORT));
    const declared: Obj | undefined = (container.ports as Obj[]).find((p) => p.containerPort === scrapePort);
    expect(declared).toBeDefined();
    expect(scrapePort).not.toBe(Number(container.env.find((e: Obj) => e.name === 'PORT')?.value));
    const service = ofKind(baseObjects, 'Service').find((s) => s.spec?.selector?.['app.kubernetes.io/name'] === 'gateway')!;
    for (const p of service.spec.ports as Obj[]) expect([declared!.name, declared!.containerPort]).not.toContain(p.targetPort);
  });

  it('trusts no forwarding proxy in the base, and each overlay names its ingress network in TRUSTED_PROXIES', () => {
    const cm = ofKind(baseObjects, 'ConfigMap').find((c) => c.metadata?.name === 'agentyard-config');
    expect(cm!.data.TRUSTED_PROXIES).toBe('');
    for (const overlay of ['dev', 'production']) {
      const patch = parseOne(join(K8S, 'overlays', overlay, 'patches/config.yaml'));
      const entries = String(patch.data?.TRUSTED_PROXIES ?? '')
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean);
      expect({ overlay, entries: entries.length > 0 }).toEqual({ overlay, entries: true });
      for (const e of entries) expect({ overlay, e, valid: isAddressOrCidr(e) }).toEqual({ overlay, e, valid: true });
    }
  });

  it('the database Secret is a clearly marked placeholder whose databases match init.sql', () => {
    expect(dbSecret).toBeDefined();
    const values = Object.values<string>(dbSecret!.stringData ?? {});
    expect(values.length).toBe(initDatabases.length);
    for (const v of values) expect(v).toContain('CHANGE_ME');
    expect(values.map(dbNameOf).sort()).toEqual(initDatabases);
    expect(read(join(K8S, 'base/database-secret.yaml'))).toMatch(/PLACEHOLDER/);
  });

  it('the shared ConfigMap points NATS_URL at the Helm release and sets the common env', () => {
    const cm = ofKind(baseObjects, 'ConfigMap').find((c) => c.metadata?.name === 'agentyard-config');
    expect(cm?.data).toEqual(expect.objectContaining({ LOG_LEVEL: expect.any(String), HTTP_PORT: '3000' }));
    const host = new URL(cm!.data.NATS_URL).hostname;
    const releases = kustomizationFiles.flatMap((f) => ((parseOne(f).helmCharts ?? []) as Obj[]).map((h) => h.releaseName));
    expect(releases.length).toBeGreaterThan(0);
    for (const r of releases) expect(r).toBe(host);
  });

  describe.each(['dev', 'production'])('overlay %s: NATS from the upstream Helm chart', (overlay) => {
    const dir = join(K8S, 'overlays', overlay);
    const k = parseOne(join(dir, 'kustomization.yaml'));
    const chart: Obj | undefined = ((k.helmCharts ?? []) as Obj[]).find((h) => h.name === 'nats');

    it('pins the chart version and uses the nats-io repository', () => {
      expect(chart).toBeDefined();
      expect(chart!.repo).toBe(NATS_CHART_REPO);
      expect(versionOf(String(chart!.version))).toBeDefined(); // exact x.y.z, no range
    });

    it(`runs nats-server >= ${MIN_NATS.join('.')} with JetStream on file storage PVCs and sync_interval: always`, () => {
      const values = parseOne(join(dir, chart!.valuesFile));
      const v = versionOf(String(values.container?.image?.tag ?? ''));
      expect(v && atLeast(v, MIN_NATS)).toBe(true);
      const js: Obj = values.config?.jetstream ?? {};
      expect(js.enabled).toBe(true);
      expect(js.fileStore?.enabled).toBe(true);
      expect(js.fileStore?.pvc?.enabled).toBe(true);
      expect(js.merge?.sync_interval).toBe('always');
    });

    it('sets image tags and replicas for every service', () => {
      const tagged = ((k.images ?? []) as Obj[]).map((i) => i.name).sort();
      expect(tagged).toEqual(composeAppServices.map((s) => `agentyard/${s}`));
      for (const i of (k.images ?? []) as Obj[]) expect(String(i.newTag ?? '')).not.toMatch(/^(latest)?$/);
      expect(((k.replicas ?? []) as Obj[]).map((r) => r.name).sort()).toEqual(composeAppServices);
    });
  });

  it('k8s/README.md says that --enable-helm is needed and shows a Postgres operator example', () => {
    const readme = read(join(K8S, 'README.md'));
    expect(readme).toMatch(/kustomize build --enable-helm/);
    expect(readme).toMatch(/postgresql\.cnpg\.io\/v1/);
    expect(
      ofKind(
        k8sObjects.map((o) => o.doc),
        'StatefulSet',
      ),
    ).toEqual([]);
  });
});

// =====================================================================================================
describe('infra/services.json (the manifest of the services)', () => {
  const composeEnv = (name: string): Obj => composeServices[name]?.environment ?? {};
  const deployment = (name: string): Obj | undefined => ofKind(baseObjects, 'Deployment').find((d) => d.metadata?.name === name);
  const k8sEnv = (name: string): string[] => ((deployment(name)?.spec?.template?.spec?.containers?.[0]?.env ?? []) as Obj[]).map((e) => e.name);
  const configMap: Obj = ofKind(baseObjects, 'ConfigMap').find((c) => c.metadata?.name === 'agentyard-config')?.data ?? {};

  it('names every backend service under services/, once, and each devHttpPort once', () => {
    expect(manifestServices).toEqual(backendServices);
    expect(new Set(manifestServices).size).toBe(manifest.services.length);
    const ports = manifest.services.map((s) => s.devHttpPort);
    expect(new Set(ports).size).toBe(ports.length);
  });

  it('compose, k8s/base, Prometheus and init.sql hold exactly its services and databases', () => {
    expect(composeAppServices).toEqual(manifestServices);
    expect(
      ofKind(baseObjects, 'Deployment')
        .map((d) => d.metadata.name)
        .sort(),
    ).toEqual(manifestServices);
    expect([...scrapeTargets].sort()).toEqual(manifest.services.map((s) => `${s.name}:${manifest.httpPort}`).sort());
    expect(initDatabases).toEqual(manifest.services.flatMap((s) => (s.database ? [s.database] : [])).sort());
  });

  it.each(manifest.services.map((s) => [s.name, s] as const))('%s: compose and k8s run its replicas, database, ports and env', (name, s) => {
    const env = composeEnv(name);
    const k8s = deployment(name)!;
    const container: Obj = k8s.spec.template.spec.containers[0];
    // Replicas: compose and the k8s base run the manifest's count; an overlay may run more.
    expect({ compose: composeServices[name].deploy?.replicas, k8s: k8s.spec.replicas }).toEqual({ compose: s.replicas, k8s: s.replicas });
    for (const overlay of ['dev', 'production']) {
      const count = ((parseOne(join(K8S, 'overlays', overlay, 'kustomization.yaml')).replicas ?? []) as Obj[]).find((r) => r.name === name)?.count;
      expect({ overlay, name, atLeast: count >= s.replicas }).toEqual({ overlay, name, atLeast: true });
    }
    // Health and metrics on HTTP_PORT; the public port where it has one.
    expect(String(env.HTTP_PORT)).toBe(String(manifest.httpPort));
    expect(configMap.HTTP_PORT).toBe(String(manifest.httpPort));
    expect((container.ports as Obj[]).some((p) => p.containerPort === manifest.httpPort)).toBe(true);
    if (s.publicPort !== undefined) {
      expect(String(env.PORT)).toBe(String(s.publicPort));
      expect(container.env.find((e: Obj) => e.name === 'PORT')?.value).toBe(String(s.publicPort));
    }
    // Its own database, or none.
    if (s.database) {
      expect(dbNameOf(String(env.DATABASE_URL).replace(/\$\{[^}]*\}/g, 'x'))).toBe(s.database);
      expect(dbNameOf(dbSecret!.stringData[secretKeyFor(name)])).toBe(s.database);
    } else {
      expect({ compose: env.DATABASE_URL, k8s: k8sEnv(name).includes('DATABASE_URL') }).toEqual({ compose: undefined, k8s: false });
    }
    // The variables it needs, in both.
    for (const variable of s.env) {
      expect({ name, variable, compose: variable in env }).toEqual({ name, variable, compose: true });
      expect({ name, variable, k8s: k8sEnv(name).includes(variable) || variable in configMap }).toEqual({ name, variable, k8s: true });
    }
  });
});

// =====================================================================================================
// Rendering with kubectl's built-in kustomize catches what file-level checks cannot: broken patches,
// wrong targets, name/namespace mistakes. helmCharts are removed first (they need helm + network).
const kubectl = findOnPath('kubectl');
if (!kubectl) {
  describe('rendered overlays (kubectl kustomize)', () => {
    it('is not run: kubectl is not installed (the file-level checks above still ran)', () => {
      console.warn('skipped rendering the k8s overlays: kubectl is not installed');
      expect(findOnPath('kubectl')).toBeUndefined();
    });
  });
}
const describeWithKubectl = kubectl ? describe : () => undefined;

describeWithKubectl('rendered overlays (kubectl kustomize, helmCharts stripped)', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'agentyard-k8s-'));
    cpSync(K8S, join(work, 'k8s'), { recursive: true });
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  function render(overlay: string): Obj[] {
    const file = join(work, 'k8s/overlays', overlay, 'kustomization.yaml');
    const k = parseOne(file);
    delete k.helmCharts;
    writeFileSync(file, YAML.stringify(k));
    const r = spawnSync(kubectl!, ['kustomize', dirname(file)], { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`kubectl kustomize ${overlay} failed: ${r.stderr || r.error}`);
    return YAML.parseAll(r.stdout, `${overlay} (rendered)`).filter((d): d is Obj => d != null);
  }

  it.each(['dev', 'production'])('%s renders, and its Deployments pass every check with pinned images', (overlay) => {
    const objs = render(overlay);
    const deployments = ofKind(objs, 'Deployment');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(composeAppServices);
    expect(deployments.flatMap(deploymentProblems)).toEqual([]);
    for (const d of deployments) {
      expect(d.spec.template.spec.containers[0].image).toMatch(new RegExp(`^agentyard/${d.metadata.name}:(?!latest$)[\\w.-]+$`));
      const hpa = ofKind(objs, 'HorizontalPodAutoscaler').find((h) => h.spec.scaleTargetRef.name === d.metadata.name);
      expect(d.spec.replicas).toBeGreaterThanOrEqual(hpa?.spec.minReplicas);
      expect(d.spec.replicas).toBeLessThanOrEqual(hpa?.spec.maxReplicas);
    }
    for (const o of objs) if (o.kind !== 'Namespace') expect({ kind: o.kind, ns: o.metadata.namespace }).toEqual({ kind: o.kind, ns: 'agentyard' });
  });

  it('production ships no placeholder Secret; dev keeps it', () => {
    const placeholder = (objs: Obj[]) =>
      ofKind(objs, 'Secret').filter((s) => JSON.stringify(s).includes('CHANGE_ME') || s.metadata?.annotations?.['agentyard.dev/placeholder']);
    expect(placeholder(render('production'))).toEqual([]);
    expect(placeholder(render('dev')).length).toBe(1);
  });
});
