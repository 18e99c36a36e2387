import { decideFetch, parseLsRemote, remoteRefQueries } from './fetch.decide';
import { remoteHeadRef } from './workspace-rules';

const a = 'a'.repeat(40);
const b = 'b'.repeat(40);
const t = 'c'.repeat(40);

describe('decideFetch', () => {
  describe('for the remote’s HEAD (no ref)', () => {
    const queries = remoteRefQueries(undefined);

    it('asks the remote for HEAD, which the mirror keeps under its own ref', () => {
      expect(queries).toEqual([{ remote: 'HEAD', mirror: remoteHeadRef }]);
    });

    it('skips the fetch when the remote’s HEAD is what the mirror has', () => {
      expect(decideFetch(queries, new Map([['HEAD', a]]), new Map([[remoteHeadRef, a]]))).toEqual({ fetch: false });
    });

    it('fetches when the remote’s HEAD moved on, or the mirror has none yet', () => {
      expect(decideFetch(queries, new Map([['HEAD', b]]), new Map([[remoteHeadRef, a]]))).toEqual({ fetch: true, why: 'moved' });
      expect(decideFetch(queries, new Map([['HEAD', b]]), new Map())).toEqual({ fetch: true, why: 'moved' });
    });
  });

  describe('for a named ref', () => {
    const queries = remoteRefQueries('main');

    it('asks for the branch and the tag of that name, mapped as the fetch stores them', () => {
      expect(queries).toEqual([
        { remote: 'refs/heads/main', mirror: 'refs/remotes/origin/main' },
        { remote: 'refs/tags/main', mirror: 'refs/tags/main' },
      ]);
    });

    it('skips the fetch when every ref the lookup could pick is what the remote has (absent on both sides included)', () => {
      expect(decideFetch(queries, new Map([['refs/heads/main', a]]), new Map([['refs/remotes/origin/main', a]]))).toEqual({ fetch: false });
      const both = new Map([
        ['refs/heads/main', a],
        ['refs/tags/main', t],
      ]);
      const mirrored = new Map([
        ['refs/remotes/origin/main', a],
        ['refs/tags/main', t],
      ]);
      expect(decideFetch(queries, both, mirrored)).toEqual({ fetch: false });
    });

    it('fetches when the branch moved, appeared as a tag, or went away on the remote while the mirror still has it', () => {
      expect(decideFetch(queries, new Map([['refs/heads/main', b]]), new Map([['refs/remotes/origin/main', a]]))).toMatchObject({ fetch: true });
      const tagAppeared = new Map([
        ['refs/heads/main', a],
        ['refs/tags/main', t],
      ]);
      expect(decideFetch(queries, tagAppeared, new Map([['refs/remotes/origin/main', a]]))).toMatchObject({ fetch: true });
      // Only the tag is left on the remote: the mirror's stale branch would win the lookup.
      const mirrored = new Map([
        ['refs/remotes/origin/main', a],
        ['refs/tags/main', t],
      ]);
      expect(decideFetch(queries, new Map([['refs/tags/main', t]]), mirrored)).toMatchObject({ fetch: true, why: 'moved' });
    });

    it('fetches when the remote names nothing by that name (an abbreviated commit id, an unknown ref)', () => {
      expect(decideFetch(remoteRefQueries('abc1234'), new Map(), new Map())).toEqual({ fetch: true, why: 'not-advertised' });
    });
  });
});

describe('parseLsRemote', () => {
  it('reads id and name per line and leaves peeled tag lines out', () => {
    const text = `${a}\tHEAD\n${b}\trefs/heads/main\n${t}\trefs/tags/v1\n${a}\trefs/tags/v1^{}\n`;
    expect(parseLsRemote(text)).toEqual(
      new Map([
        ['HEAD', a],
        ['refs/heads/main', b],
        ['refs/tags/v1', t],
      ]),
    );
  });
});
