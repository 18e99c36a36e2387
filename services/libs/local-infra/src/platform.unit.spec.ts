import { platformServices, serviceManifest } from './platform';

describe('the test platform', () => {
  it('starts the services of infra/services.json, in its order', () => {
    expect(serviceManifest().services.map((s) => s.name)).toEqual([...platformServices]);
  });

  it('knows how to provide every variable the manifest says a service needs', () => {
    // startPlatform's providers; a new name in the manifest must get one there (and in infra/dev/start.mjs).
    const provided = ['SECRETS_MASTER_KEY', 'PUBLIC_URL', 'PORT'];
    for (const s of serviceManifest().services)
      for (const variable of s.env)
        expect({ service: s.name, variable, provided: provided.includes(variable) }).toEqual({ service: s.name, variable, provided: true });
  });
});
