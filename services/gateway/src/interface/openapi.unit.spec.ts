/*
 * The hand-written OpenAPI document against the gateway's real routes: every route of the
 * module's controllers (method + path, read from Nest's route metadata) is documented, and the
 * document names no route that does not exist. A route added without its document entry, or a
 * documented one renamed or removed, fails here.
 */
import 'reflect-metadata';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { RequestMethod, type Type } from '@nestjs/common';
import { GatewayModule, type GatewayDeps } from '../gateway.module';
import { buildOpenApiDocument } from './openapi';

const join = (...parts: string[]): string =>
  `/${parts
    .flatMap((p) => p.split('/'))
    .filter((p) => p !== '')
    .join('/')}`;
/** Nest's `:id` is OpenAPI's `{id}`. */
const openApiPath = (path: string): string => path.replace(/:(\w+)/g, '{$1}');

function controllerRoutes(): string[] {
  // The controllers list is all forRoot reads the dependencies for; none of them is used here.
  const controllers = (GatewayModule.forRoot({ downloadsDir: '/nonexistent' } as unknown as GatewayDeps).controllers ?? []) as Type[];
  const routes: string[] = [];
  for (const controller of controllers) {
    const base = (Reflect.getMetadata(PATH_METADATA, controller) as string | undefined) ?? '';
    const proto = controller.prototype as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const handler = proto[name];
      if (name === 'constructor' || typeof handler !== 'function') continue;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      const paths = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
      if (method === undefined || paths === undefined) continue;
      for (const path of Array.isArray(paths) ? paths : [paths]) routes.push(`${RequestMethod[method]} ${openApiPath(join(base, path))}`);
    }
  }
  return routes.sort();
}

function documentedRoutes(): string[] {
  const paths = buildOpenApiDocument().paths as Record<string, Record<string, unknown>>;
  return Object.entries(paths)
    .flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
}

describe('The OpenAPI document', () => {
  const routes = controllerRoutes();
  const documented = documentedRoutes();

  it('is compared with real routes (the metadata was read)', () => {
    expect(routes.length).toBeGreaterThan(40);
    expect(routes).toContain('POST /api/v1/tasks');
    expect(routes).toContain('GET /api/v1/tasks/{id}');
  });

  it('documents every route of the gateway’s controllers', () => {
    expect(routes.filter((r) => !documented.includes(r))).toEqual([]);
  });

  it('documents no route the controllers do not have', () => {
    expect(documented.filter((r) => !routes.includes(r))).toEqual([]);
  });
});
