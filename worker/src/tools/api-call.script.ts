/*
 * Child process of the claude-api / gemini-api tools: sends one prompt to the provider's HTTP API
 * and prints the text answer. Usage: `node api-call.script.js anthropic|gemini` with the prompt in
 * $AGENTYARD_PROMPT, the key in the provider's variable, and optional $AGENTYARD_MODEL.
 * Exit codes: 0 answered, 1 the API refused or failed, 2 misuse. Not streamed: the answer is
 * printed when complete (streaming is a later improvement).
 * Imports nothing but Node: it runs standalone from dist/.
 */

interface ApiRequest {
  url: string;
  headers: Record<string, string>;
  body: unknown;
  extract(reply: unknown): string;
}

const defaults = { anthropic: 'claude-sonnet-4-5', gemini: 'gemini-2.5-flash' } as const;

export function buildApiRequest(provider: string, env: NodeJS.ProcessEnv): ApiRequest {
  const prompt = env.AGENTYARD_PROMPT ?? '';
  if (!prompt) throw new Error('AGENTYARD_PROMPT is empty');
  if (provider === 'anthropic') {
    const key = env.ANTHROPIC_API_KEY;
    if (!key) throw new Error('ANTHROPIC_API_KEY is not set');
    const base = (env.ANTHROPIC_BASE_URL ?? 'https://api.anthropic.com').replace(/\/+$/, '');
    return {
      url: `${base}/v1/messages`,
      headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: { model: env.AGENTYARD_MODEL ?? env.AGENTYARD_CLAUDE_MODEL ?? defaults.anthropic, max_tokens: 8192, messages: [{ role: 'user', content: prompt }] },
      extract: (reply) => textParts((reply as { content?: unknown }).content),
    };
  }
  if (provider === 'gemini') {
    const key = env.GEMINI_API_KEY ?? env.GOOGLE_API_KEY;
    if (!key) throw new Error('GEMINI_API_KEY (or GOOGLE_API_KEY) is not set');
    const base = (env.GEMINI_BASE_URL ?? 'https://generativelanguage.googleapis.com').replace(/\/+$/, '');
    const model = env.AGENTYARD_MODEL ?? env.AGENTYARD_GEMINI_MODEL ?? defaults.gemini;
    return {
      url: `${base}/v1beta/models/${encodeURIComponent(model)}:generateContent`,
      headers: { 'x-goog-api-key': key, 'content-type': 'application/json' },
      body: { contents: [{ role: 'user', parts: [{ text: prompt }] }] },
      extract: (reply) => {
        const candidates = (reply as { candidates?: { content?: { parts?: unknown } }[] }).candidates;
        return textParts(candidates?.[0]?.content?.parts);
      },
    };
  }
  throw new Error(`unknown provider ${provider} (expected anthropic or gemini)`);
}

function textParts(parts: unknown): string {
  if (!Array.isArray(parts)) return '';
  return parts
    .map((p: unknown) => (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : ''))
    .join('');
}

async function main(): Promise<number> {
  let request: ApiRequest;
  try {
    request = buildApiRequest(process.argv[2] ?? '', process.env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  const response = await fetch(request.url, { method: 'POST', headers: request.headers, body: JSON.stringify(request.body) });
  const text = await response.text();
  if (!response.ok) {
    process.stderr.write(`API error: HTTP ${response.status}: ${text.slice(0, 4000)}\n`);
    return 1;
  }
  process.stdout.write(`${request.extract(JSON.parse(text))}\n`);
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(`API call failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
