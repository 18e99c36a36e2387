import { modelIdsFromList, anthropicProbe, geminiProbe, healthFromAnswer, ollamaProbe, openAiProbe } from './tool-health';

describe('tool health', () => {
  describe('healthFromAnswer', () => {
    const anthropic = anthropicProbe({ ANTHROPIC_API_KEY: 'k' });
    it('reads a 2xx as healthy with the key accepted', () => {
      expect(healthFromAnswer(anthropic, 200)).toEqual({ health: 'healthy', auth: 'ok' });
    });
    it('reads 401 and 403 as the key refused, or missing when none was sent', () => {
      expect(healthFromAnswer(anthropic, 401)).toEqual({ health: 'unhealthy', auth: 'refused', detail: 'key refused by the Anthropic API (401)' });
      expect(healthFromAnswer(anthropic, 403)).toMatchObject({ health: 'unhealthy', auth: 'refused' });
      expect(healthFromAnswer(anthropicProbe({}), 401)).toEqual({
        health: 'unhealthy',
        auth: 'missing',
        detail: 'the Anthropic API wants a key and none is set (401)',
      });
    });
    it('reads Gemini’s 400 API_KEY_INVALID as refused, and another 400 as not verified', () => {
      const gemini = geminiProbe('k', undefined);
      expect(healthFromAnswer(gemini, 400, '{"error":{"details":[{"reason":"API_KEY_INVALID"}]}}')).toMatchObject({ health: 'unhealthy', auth: 'refused' });
      expect(healthFromAnswer(gemini, 400, '{"error":{"message":"bad page size"}}')).toMatchObject({ health: 'healthy', auth: 'unknown' });
      expect(healthFromAnswer(anthropic, 400, 'API_KEY_INVALID')).toMatchObject({ health: 'healthy', auth: 'unknown' });
    });
    it('keeps a rate-limited key healthy, fails on a failing API, and does not judge a server without a models list', () => {
      expect(healthFromAnswer(anthropic, 429)).toMatchObject({ health: 'healthy', auth: 'ok' });
      expect(healthFromAnswer(anthropic, 503)).toEqual({ health: 'unhealthy', auth: 'unknown', detail: 'the Anthropic API is failing (503)' });
      expect(healthFromAnswer(anthropic, 404)).toEqual({ health: 'healthy', auth: 'unknown', detail: 'key not verified: the models list answered 404' });
    });
  });

  describe('probes', () => {
    it('ask each vendor’s models list with the key in a header, never in the URL', () => {
      expect(anthropicProbe({ ANTHROPIC_API_KEY: 'sk-a', ANTHROPIC_BASE_URL: 'http://h:1/' })).toMatchObject({
        url: 'http://h:1/v1/models?limit=1000',
        headers: { 'x-api-key': 'sk-a', 'anthropic-version': '2023-06-01' },
        keySent: true,
      });
      expect(anthropicProbe({ ANTHROPIC_AUTH_TOKEN: 'tok' }).headers.authorization).toBe('Bearer tok');
      expect(anthropicProbe({}).url).toBe('https://api.anthropic.com/v1/models?limit=1000');
      const gemini = geminiProbe('g-key', undefined);
      expect(gemini).toMatchObject({ url: 'https://generativelanguage.googleapis.com/v1beta/models?pageSize=1000', headers: { 'x-goog-api-key': 'g-key' } });
      expect(gemini.url).not.toContain('g-key');
      expect(openAiProbe('OpenAI API', 'sk-o', 'http://h:2/v1/')).toMatchObject({ url: 'http://h:2/v1/models', headers: { authorization: 'Bearer sk-o' } });
      expect(openAiProbe('OpenAI-compatible server', undefined, 'http://h:3')).toMatchObject({ url: 'http://h:3/v1/models', headers: {}, keySent: false });
      expect(ollamaProbe('h:4').url).toBe('http://h:4/api/tags');
    });
  });

  describe('model lists', () => {
    it('reads OpenAI’s and Anthropic’s data[].id, Gemini’s models[].name less models/, and Ollama’s models[].name', () => {
      expect(modelIdsFromList(JSON.stringify({ object: 'list', data: [{ id: 'gpt-5' }, { id: 'gpt-5-mini' }] }))).toEqual(['gpt-5', 'gpt-5-mini']);
      expect(modelIdsFromList(JSON.stringify({ data: [{ id: 'claude-sonnet-4-5' }], has_more: false }))).toEqual(['claude-sonnet-4-5']);
      expect(modelIdsFromList(JSON.stringify({ models: [{ name: 'models/gemini-2.5-pro' }, { name: 'models/gemini-2.5-flash' }] }))).toEqual([
        'gemini-2.5-pro',
        'gemini-2.5-flash',
      ]);
      expect(modelIdsFromList(JSON.stringify({ models: [{ name: 'llama3:latest', model: 'llama3:latest' }] }))).toEqual(['llama3:latest']);
      expect(modelIdsFromList(JSON.stringify({ data: [] }))).toEqual([]);
    });

    it('says unknown (null) for a list with more pages, more than 200 ids, or no list at all — never a cut list', () => {
      expect(modelIdsFromList(JSON.stringify({ data: [{ id: 'a' }], has_more: true }))).toBeNull();
      expect(modelIdsFromList(JSON.stringify({ models: [{ name: 'models/a' }], nextPageToken: 'p2' }))).toBeNull();
      expect(modelIdsFromList(JSON.stringify({ data: Array.from({ length: 201 }, (_, i) => ({ id: `m${i}` })) }))).toBeNull();
      expect(modelIdsFromList(JSON.stringify({ data: Array.from({ length: 200 }, (_, i) => ({ id: `m${i}` })) }))).toHaveLength(200);
      expect(modelIdsFromList('<html>proxy</html>')).toBeNull();
      expect(modelIdsFromList('null')).toBeNull();
      expect(modelIdsFromList(JSON.stringify({ ok: true }))).toBeNull();
    });

    it('leaves out ids no task could name: empty, over 200 characters, spaces, control characters, non-strings; repeats once', () => {
      const body = JSON.stringify({
        data: [{ id: 'ok' }, { id: '' }, { id: 'x'.repeat(201) }, { id: 'a b' }, { id: 'a\u0000b' }, { id: 7 }, {}, null, { id: 'ok' }],
      });
      expect(modelIdsFromList(body)).toEqual(['ok']);
    });
  });
});
