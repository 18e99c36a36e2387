import { parseHint, ProgressParser } from './progress-hint';

describe('parseHint', () => {
  it.each([
    ['::progress 40', 40],
    ['::progress 7%\r', 7],
    ['::progress 250', 100],
    ['progress 40', undefined],
    ['::progress forty', undefined],
    ['  ::progress 40', undefined],
  ])('reads %j as %j', (line, expected) => {
    expect(parseHint(line)).toBe(expected);
  });
});

describe('ProgressParser', () => {
  it('finds hints split across writes and ignores an unfinished line', () => {
    const parser = new ProgressParser();
    expect(parser.push('a\n::progr')).toBeUndefined();
    expect(parser.push('ess 55\r\n::progress 60')).toBe(55);
    expect(parser.push('\n')).toBe(60);
  });

  it('does not mistake the end of a very long line for a hint', () => {
    const parser = new ProgressParser();
    expect(parser.push('x'.repeat(10_000))).toBeUndefined();
    expect(parser.push('::progress 10\n')).toBeUndefined();
    expect(parser.push('::progress 20\n')).toBe(20);
  });
});
