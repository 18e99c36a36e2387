import { assertSubjectPattern, subjectMatches, subjectsOverlap } from './subject-match';

describe('subject patterns', () => {
  describe('when matching a concrete subject', () => {
    it('matches literal subjects exactly', () => {
      expect(subjectMatches('tasks.events.task-queued', 'tasks.events.task-queued')).toBe(true);
      expect(subjectMatches('tasks.events.task-queued', 'tasks.events.task-queued.t1')).toBe(false);
    });

    it('lets * stand for exactly one token', () => {
      expect(subjectMatches('tasks.events.*', 'tasks.events.task-queued')).toBe(true);
      expect(subjectMatches('tasks.events.*', 'tasks.events.task-queued.t1')).toBe(false);
      expect(subjectMatches('tasks.*.task-queued', 'tasks.events.task-queued')).toBe(true);
    });

    it('lets > stand for one or more trailing tokens, never zero', () => {
      expect(subjectMatches('tasks.events.>', 'tasks.events.task-queued.t1')).toBe(true);
      expect(subjectMatches('tasks.events.>', 'tasks.events')).toBe(false);
      expect(subjectMatches('tasks.events.task-queued.>', 'tasks.events.task-failed.t1')).toBe(false);
    });
  });

  describe('when comparing two patterns', () => {
    it('says whether some subject matches both', () => {
      expect(subjectsOverlap('tasks.events.>', 'tasks.events.task-queued.>')).toBe(true);
      expect(subjectsOverlap('tasks.events.*', 'tasks.events.task-queued.>')).toBe(false);
      expect(subjectsOverlap('tasks.*.task-queued.*', 'tasks.events.>')).toBe(true);
      expect(subjectsOverlap('workers.events.>', 'tasks.events.>')).toBe(false);
      expect(subjectsOverlap('tasks.events', 'tasks.events.>')).toBe(false);
    });
  });

  describe('when a pattern is malformed', () => {
    it('refuses it with the reason', () => {
      expect(() => assertSubjectPattern('tasks.>.queued')).toThrow("'>' must be the last token");
      expect(() => assertSubjectPattern('tasks..queued')).toThrow('empty token');
      expect(() => assertSubjectPattern('tasks.ev*')).toThrow('whole tokens');
      expect(() => assertSubjectPattern('{"cmd":"x y"}')).toThrow();
      expect(() => assertSubjectPattern('tasks.events.>')).not.toThrow();
    });
  });
});
