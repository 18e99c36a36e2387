import { join } from 'node:path';
import { agentNodeFlags } from './agent-flags';

describe('agentNodeFlags', () => {
  it("reads the flags from the installed command's shebang", () => {
    expect(agentNodeFlags(join(__dirname, '..', '..', '..', '..'))).toEqual([
      '--max-semi-space-size=1',
      '--optimize-for-size',
      '--lite-mode',
      '--no-expose-wasm',
      '--single-threaded-gc',
    ]);
  });
});
