/*
 * contracts' rpcCatalog against every service's request/reply handlers, read from Nest's own
 * metadata (what the transporter subscribes): each service module's controllers as its forRoot()
 * declares them (nothing is booted: its dependencies are stand-ins that are never used), then
 * each controller method's @MessagePattern subjects. So a handler on a subject the catalog lacks,
 * an entry nobody answers, or one answered twice fails here, and so does a raw
 * `rpc.request(subject, …)` left in a service's source (calls go through `rpc.call(entry, body)`).
 *
 *   node node_modules/jest/bin/jest.js infra/rpc
 */
import 'reflect-metadata';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { DynamicModule, Type } from '@nestjs/common';
import { PATTERN_HANDLER_METADATA, PATTERN_METADATA } from '@nestjs/microservices/constants';
import { PatternHandler } from '@nestjs/microservices/enums/pattern-handler.enum';
import pino from 'pino';
import { rpcCatalog, type RpcEntry } from '@agentyard/contracts';
import { AllocationModule } from '@agentyard/allocation/src/allocation.module';
import { AuthModule } from '@agentyard/auth/src/auth.module';
import { TasksModule } from '@agentyard/tasks/src/tasks.module';
import { heartbeatSubjectPattern } from '@agentyard/workers/src/interface/heartbeat.listener';
import { WorkersModule } from '@agentyard/workers/src/workers.module';
import { WorkflowsModule } from '@agentyard/workflows/src/workflows.module';

const ROOT = resolve(__dirname, '../..');

/** The backend services that answer requests, by the context their subjects start with. */
const services: Record<string, { forRoot(deps: never): DynamicModule }> = {
  auth: AuthModule,
  tasks: TasksModule,
  workers: WorkersModule,
  allocation: AllocationModule,
  workflows: WorkflowsModule,
};

/**
 * @MessagePattern subscriptions that are not request/reply, so not catalog entries: agents
 * publish heartbeats on core NATS and wait for no answer (the HTTP heartbeat is an entry).
 */
const notRequestReply = new Set<string>([heartbeatSubjectPattern]);

/** Stands in for every dependency forRoot() puts in a provider: any property, any depth, never called here. */
function standIn(): unknown {
  const target = function standInTarget() {};
  return new Proxy(target, { get: (_t, key) => (key === 'then' ? undefined : standIn()), apply: () => standIn() });
}

function controllersOf(module: DynamicModule): Array<Type<unknown>> {
  const nested = (module.imports ?? []).flatMap((m) => (m && typeof m === 'object' && 'module' in m ? controllersOf(m as DynamicModule) : []));
  return [...((module.controllers ?? []) as Array<Type<unknown>>), ...nested];
}

interface Handler {
  service: string;
  where: string;
  subject: string;
}

function handlersOf(service: string, module: DynamicModule): Handler[] {
  const handlers: Handler[] = [];
  for (const controller of controllersOf(module)) {
    const proto = controller.prototype as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const method = proto[name];
      if (name === 'constructor' || typeof method !== 'function') continue;
      if (Reflect.getMetadata(PATTERN_HANDLER_METADATA, method) !== PatternHandler.MESSAGE) continue;
      for (const subject of Reflect.getMetadata(PATTERN_METADATA, method) as string[]) {
        handlers.push({ service, where: `${controller.name}.${name}`, subject });
      }
    }
  }
  return handlers;
}

function tsFilesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFilesUnder(path);
    return name.endsWith('.ts') && !name.endsWith('.spec.ts') ? [path] : [];
  });
}

const logger = pino({ level: 'silent' });
const handlers = Object.entries(services).flatMap(([service, module]) =>
  handlersOf(service, module.forRoot(new Proxy({}, { get: (_t, key) => (key === 'logger' ? logger : standIn()) }) as never)),
);
const entries: Array<{ name: string; entry: RpcEntry }> = Object.entries(rpcCatalog).flatMap(([context, ops]) =>
  Object.entries(ops as Record<string, RpcEntry>).map(([op, entry]) => ({ name: `${context}.${op}`, entry })),
);

describe('The RPC catalog and the services’ request/reply handlers', () => {
  it('read every service’s handlers from their metadata (the checks below are not vacuous)', () => {
    expect(new Set(handlers.map((h) => h.service))).toEqual(new Set(Object.keys(services)));
    expect(handlers.length).toBeGreaterThanOrEqual(entries.length);
    expect(entries.length).toBeGreaterThan(70);
  });

  it('give each subject one entry', () => {
    const subjects = entries.map((e) => e.entry.subject);
    expect(subjects.filter((s, i) => subjects.indexOf(s) !== i)).toEqual([]);
  });

  it('answer every entry with exactly one handler, in the service of the entry’s context', () => {
    const wrong = entries.flatMap(({ name, entry }) => {
      const answering = handlers.filter((h) => h.subject === entry.subject);
      const context = entry.subject.split('.')[0]!;
      return answering.length === 1 && answering[0]!.service === context
        ? []
        : [`${name} (${entry.subject}): answered by ${answering.map((h) => `${h.service}:${h.where}`).join(', ') || 'nobody'}`];
    });
    expect(wrong).toEqual([]);
  });

  it('listen only on subjects the catalog holds (or the listed subscriptions that send no reply)', () => {
    const catalogued = new Set(entries.map((e) => e.entry.subject));
    const outside = handlers.filter((h) => !catalogued.has(h.subject) && !notRequestReply.has(h.subject)).map((h) => `${h.service}:${h.where} on ${h.subject}`);
    expect(outside).toEqual([]);
  });

  it('are called only through the catalog: no service source sends a raw rpc.request(subject, …)', () => {
    const servicesDir = join(ROOT, 'services');
    const sources = readdirSync(servicesDir)
      .filter((name) => name !== 'libs')
      .flatMap((name) => {
        const src = join(servicesDir, name, 'src');
        return statSync(src, { throwIfNoEntry: false })?.isDirectory() ? tsFilesUnder(src) : [];
      });
    expect(sources.length).toBeGreaterThan(50);
    const raw = sources.filter((file) => /\brpc\.request\s*[<(]/.test(readFileSync(file, 'utf8'))).map((file) => relative(ROOT, file));
    expect(raw).toEqual([]);
  });
});
